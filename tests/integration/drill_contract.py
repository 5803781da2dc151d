"""A test-only event, ``drill.pinged``, and how to put it in the global catalogue.

Kept apart from ``poison_service`` (which needs nameko) so the test process and the ``bimtek-ops``
CLI can know the event, and so its queues, without importing a service.

Importing this module registers nothing: the pytest process imports every test module while
collecting, and the unit tests that check the catalogue (every producer is a service,
docs/events.md is up to date) must never see a test event. ``poison_service`` registers it at its
import (its own process); the test process only inside ``catalogued()``.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

from pydantic import BaseModel, ConfigDict

from bimtek_shared.contracts.catalogue import CATALOGUE, EventSpec, Subscription


class DrillPingedV1(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    n: int
    fail: bool
    hold_ms: int = 0  # the handler waits this long, yielding (a long job holding its delivery)


DRILL_SPEC = EventSpec(
    type="drill.pinged",
    version=1,
    producer="drill",
    payload_model=DrillPingedV1,
    description="Test only: a ping whose handler fails while asked to (integration tests of dead letters).",
    consumers=(Subscription("drill_consumer", "handle_pinged"),),
)


def register() -> None:
    CATALOGUE.register(DRILL_SPEC)  # idempotent: the same spec may be registered again


@contextlib.contextmanager
def catalogued() -> Iterator[EventSpec]:
    """drill.pinged in this process's catalogue while the block runs, and gone again afterwards."""
    key = (DRILL_SPEC.type, DRILL_SPEC.version)
    already = key in CATALOGUE._specs  # noqa: SLF001 - the catalogue has no public removal
    register()
    try:
        yield DRILL_SPEC
    finally:
        if not already:
            CATALOGUE._specs.pop(key, None)  # noqa: SLF001
