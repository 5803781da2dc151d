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


def test_start_brings_a_worker_process_up_before_any_work() -> None:
    import multiprocessing
    import time

    pool = CpuPool()
    pool.container = SimpleNamespace(config={"CPU_WORKERS": 2})
    pool.setup()
    try:
        before = set(multiprocessing.active_children())
        pool.start()
        deadline = time.monotonic() + 30
        while not set(multiprocessing.active_children()) - before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(set(multiprocessing.active_children()) - before) == 1  # more when work runs side by side
    finally:
        pool.stop()
