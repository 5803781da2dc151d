"""A tiny nameko service for the dead-letter tests: its handler fails on demand.

Run as a real process (see ``test_dead_letters.py``)::

    PYTHONPATH=tests/integration python -c "from bimtek_shared.service_main import main; \\
        main('poison_service:DrillConsumer', 'poison_service:DrillSettings')"

``handle_pinged`` raises for an event whose payload says ``fail`` while the file named by
``DRILL_FAIL_MARKER`` exists, and otherwise records the event in ``processed_events`` (the inbox)
like any real consumer (``apply_once``). Every failed try is appended to ``DRILL_ATTEMPT_LOG``
(one line per poison event: its ``n`` and the size of the batch it failed in), so a test can count
tries independently of the broker's headers. An event with a
``hold_ms`` waits that long, yielding, like a
long job that holds its delivery while other batches finish. An event with a
negative ``n`` is slow and touches no database: the handler notes its start in
``<DRILL_ATTEMPT_LOG>.slow``, then works ``-n`` milliseconds without yielding (time enough to cut the
broker connection under it) and returns, so its ack is the next thing the process does.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

from sqlalchemy import MetaData

import drill_contract
from bimtek_shared.contracts.envelope import EventEnvelope
from bimtek_shared.nameko_ext import Database, Observability, event_consumer
from bimtek_shared.persistence.messaging_tables import define_messaging_tables
from bimtek_shared.persistence.unit_of_work import apply_once
from bimtek_shared.service_settings import ServiceSettings

drill_contract.register()  # the catalogue must list drill.pinged before the service class is set up

metadata = MetaData()
define_messaging_tables(metadata)

CONSUMER = "drill_consumer.handle_pinged"


class DrillSettings(ServiceSettings):
    """DATABASE_URL and OPS_HTTP_PORT have no defaults: the test sets them."""


class PoisonError(RuntimeError):
    pass


class DrillConsumer:
    name = "drill_consumer"

    uow = Database(metadata)
    observability = Observability()

    @event_consumer("drill.pinged")
    def handle_pinged(self, events: list[EventEnvelope]) -> int:
        """The handler contract of ``event_consumer``: a batch of events in, how many took effect out."""
        slow = [e for e in events if e.payload["n"] < 0]
        for event in slow:
            # A slow event: -n milliseconds of work that never yields to eventlet's hub (CPU-bound
            # code, or a blocking call), so nothing else in the process runs meanwhile - not even the
            # consumer that would notice a lost broker connection. Then the ack follows at once.
            with open(os.environ["DRILL_ATTEMPT_LOG"] + ".slow", "a") as started:
                started.write(f"{event.payload['n']}\n")
            until = time.monotonic() + -event.payload["n"] / 1000
            while time.monotonic() < until:
                pass
        if slow:
            return len(events)
        for event in events:
            if event.payload.get("hold_ms"):
                time.sleep(event.payload["hold_ms"] / 1000)  # monkey-patched: other workers run meanwhile
        poison = [e for e in events if e.payload["fail"]]
        if poison and Path(os.environ["DRILL_FAIL_MARKER"]).exists():
            with open(os.environ["DRILL_ATTEMPT_LOG"], "a") as attempts:
                # One line per poison event of the failing call: "<n> <size of the batch>".
                attempts.writelines(f"{e.payload['n']} {len(events)}\n" for e in poison)
            raise PoisonError(f"drill {poison[0].payload['n']} is poison")
        return apply_once(self.uow, events, CONSUMER, lambda uow, fresh: None)
