"""``CpuPool``: CPU-heavy work (rendering, planning) in worker processes, off the eventlet hub.

A greenthread that computes for a second stalls every other greenthread of the process for that
second: RPC replies, event handling, broker heartbeats and health checks. Workers hand such work to
this pool and wait for it cooperatively, so the hub keeps serving while other cores compute.
Functions must be importable at module level (they are pickled to a fresh "spawn" process).
"""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable, TypeVar

from nameko.extensions import DependencyProvider

T = TypeVar("T")


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
        self.executor = ProcessPoolExecutor(max_workers=self.size, mp_context=multiprocessing.get_context("spawn"))

    def stop(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)

    def kill(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)

    def get_dependency(self, worker_ctx) -> CpuRunner:
        return CpuRunner(self.executor)
