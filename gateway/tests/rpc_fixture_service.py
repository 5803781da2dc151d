"""Tiny nameko service used by the gateway RPC client integration tests.

Run with ``nameko run rpc_fixture_service``. The service name comes from
``RPC_FIXTURE_SERVICE_NAME`` so concurrent test sessions never share queues.
Every executed call is appended to ``RPC_FIXTURE_CALL_LOG`` (if set), which
lets tests prove that a stale request was *not* executed after a restart.
"""

from __future__ import annotations

import os
from typing import Any

import eventlet
from nameko.extensions import DependencyProvider
from nameko.rpc import rpc

SERVICE_NAME = os.environ.get("RPC_FIXTURE_SERVICE_NAME", "rpc_fixture")
CALL_LOG = os.environ.get("RPC_FIXTURE_CALL_LOG")


class FixtureError(Exception):
    """Raised on purpose by ``fail`` so the client sees a RemoteError."""


class ContextData(DependencyProvider):
    """Exposes the worker's context data (the ``nameko.*`` headers)."""

    def get_dependency(self, worker_ctx: Any) -> dict[str, Any]:
        # worker_ctx.data has call_id_stack popped off; report the caller's
        # stack as received so tests can check the header round-trip.
        data = dict(worker_ctx.data)
        data["call_id_stack"] = list(worker_ctx.call_id_stack[:-1])
        return data


def _log_call(line: str) -> None:
    if CALL_LOG:
        with open(CALL_LOG, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")


class RpcFixtureService:
    name = SERVICE_NAME

    context = ContextData()

    @rpc
    def echo(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        _log_call(f"echo {kwargs.get('marker', '')}")
        return {"args": list(args), "kwargs": kwargs, "context": self.context}

    @rpc
    def fail(self, message: str) -> None:
        _log_call("fail")
        raise FixtureError(message, 42)

    @rpc
    def slow(self, seconds: float, marker: str = "") -> str:
        _log_call(f"slow-start {marker}")
        eventlet.sleep(seconds)
        _log_call(f"slow-end {marker}")
        return marker
