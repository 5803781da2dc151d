"""``CpuPool``: CPU-heavy work (rendering, planning) in worker processes, off the eventlet hub.

A greenthread that computes for a second stalls every other greenthread of the process for that
second: RPC replies, event handling, broker heartbeats and health checks. Workers hand such work to
this pool and wait for it cooperatively, so the hub keeps serving while other cores compute.
Functions must be importable at module level (they are pickled to a fresh "spawn" process).
"""
from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable, TypeVar

from nameko.extensions import DependencyProvider

T = TypeVar("T")
PARENT_CHECK_SECONDS = 1.0


def exit_with_parent(parent_pid: int) -> None:
    """Runs in each worker process: end it when the service that started it is gone. A service
    killed with SIGKILL never shuts its pool down, and its workers, holding both ends of their task
    queue, would otherwise wait on it forever (seen after the chaos tests: dozens of orphans)."""
    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


class CpuRunner:
    """What a worker gets: ``run(fn, *args)`` returns fn's result, computed in another process."""

    def __init__(self, executor: ProcessPoolExecutor) -> None:
        self._executor = executor

    def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        # Under eventlet, waiting on the future parks only this greenthread.
        return self._executor.submit(fn, *args, **kwargs).result()


class CpuPool(DependencyProvider):
    def setup(self) -> None:
        self.size = int(self.container.config.get("CPU_WORKERS") or os.cpu_count() or 1)
        # Made in setup, not start: nameko starts every extension at once, so a consumer with a
        # backlog can start a worker before this provider's start() ran (seen in the chaos run:
        # certificates restarted under load died of it). Worker processes start on first use.
        # "spawn": a fresh interpreter without eventlet's patches or the parent's sockets.
        self.executor = ProcessPoolExecutor(max_workers=self.size, mp_context=multiprocessing.get_context("spawn"),
                                            initializer=exit_with_parent, initargs=(os.getpid(),))

    def start(self) -> None:
        # One worker process now (it imports for about a second), not under the first request that
        # needs it; nothing waits for it. More start when work runs side by side.
        self.executor.submit(os.getpid)

    def stop(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)

    def kill(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)

    def get_dependency(self, worker_ctx) -> CpuRunner:
        return CpuRunner(self.executor)
