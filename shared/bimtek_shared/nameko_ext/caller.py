from __future__ import annotations

from nameko.extensions import DependencyProvider

from ..contracts.caller import Caller


class CallerProvider(DependencyProvider):
    """Hands a worker the :class:`Caller` the gateway sent with the call (None for events)."""

    def get_dependency(self, worker_ctx) -> Caller | None:
        return Caller.from_context(worker_ctx.data)
