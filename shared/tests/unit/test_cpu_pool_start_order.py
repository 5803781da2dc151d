"""A worker that starts before ``CpuPool.start()`` ran still gets the pool.

nameko starts every extension of a container at once, so an event consumer with a backlog can
spawn a worker, and inject its dependencies, before the pool's own ``start()`` has run. Found by
the chaos run (tests/integration/test_chaos.py): certificates, restarted under load with queued
events, died of an AssertionError in ``get_dependency``.
"""
from types import SimpleNamespace

from bimtek_shared.nameko_ext import CpuPool


def test_a_worker_injected_between_setup_and_start_gets_a_working_pool() -> None:
    pool = CpuPool()
    pool.container = SimpleNamespace(config={"CPU_WORKERS": 1})
    pool.setup()
    try:
        runner = pool.get_dependency(worker_ctx=None)  # start() has not run yet
        assert runner.run(pow, 2, 10) == 1024
    finally:
        pool.stop()
