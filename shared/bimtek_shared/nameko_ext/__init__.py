"""nameko extensions that give every service the same reliable plumbing.

Services import from here; the gateway never does (it has no eventlet).
"""
from .caller import CallerProvider
from .cpu_pool import CpuPool
from .database import Database
from .event_consumer import event_consumer
from .observability import Observability
from .periodic import periodic
from .rpc import rpc

__all__ = ["CallerProvider", "CpuPool", "Database", "Observability", "event_consumer", "periodic", "rpc"]
