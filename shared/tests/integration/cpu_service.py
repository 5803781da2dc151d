"""A test-only nameko service: the same CPU-bound work on the hub and in the CpuPool."""
import time

from nameko.rpc import rpc

from bimtek_shared.nameko_ext import CpuPool, Observability
from bimtek_shared.service_settings import ServiceSettings


def crunch(seconds: float) -> int:
    """Pure computation, no I/O: nothing here ever yields to the eventlet hub."""
    end, count = time.perf_counter() + seconds, 0
    while time.perf_counter() < end:
        count += 1
    return count


class CpuDrillSettings(ServiceSettings):
    pass


class CpuDrill:
    name = "cpu_drill"

    cpu = CpuPool()
    observability = Observability()

    @rpc
    def crunch_in_pool(self, seconds: float) -> int:
        return self.cpu.run(crunch, seconds)

    @rpc
    def crunch_on_hub(self, seconds: float) -> int:
        return crunch(seconds)
