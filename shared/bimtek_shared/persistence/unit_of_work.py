"""The unit of work every service builds on: one transaction holding the state change, the events
it causes (the outbox) and the record of the event being handled (the inbox).

Services subclass it to add their repositories; the domain never sees SQLAlchemy.
"""
from __future__ import annotations

import uuid
from typing import Any, Callable

from pydantic import BaseModel
from sqlalchemy import Connection, insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session, sessionmaker

from ..contracts.envelope import EventEnvelope, new_event
from .autocommit import end_autocommit, start_autocommit
from .messaging_tables import MessagingTables


class UnitOfWork:
    def __init__(
        self, session_factory: sessionmaker, messaging: MessagingTables, *, correlation_id: str
    ) -> None:
        self._session_factory = session_factory
        self._messaging = messaging
        self.correlation_id = correlation_id
        self.session: Session | None = None
        self._autocommitting: Connection | None = None  # the session's connection, while autocommit() holds it

    @classmethod
    def dependencies_from_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        """Long-lived helpers a subclass needs (built once at start-up), passed to __init__."""
        return {}

    # Subclasses attach repositories here, on the fresh session.
    def _open_repositories(self, session: Session) -> None:
        pass

    def __enter__(self) -> "UnitOfWork":
        self.session = self._session_factory()
        self._open_repositories(self.session)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        assert self.session is not None
        try:
            self._end_autocommit()
            self.session.rollback()  # a no-op after commit(); discards anything uncommitted
        finally:
            self.session.close()
            self.session = None

    def commit(self) -> None:
        assert self.session is not None
        self._end_autocommit()
        self.session.commit()

    def autocommit(self) -> None:
        """From here on each statement commits on its own, with no BEGIN or COMMIT round trip: for
        a use case whose statements need no transaction together (a read, then its audit record).
        Call it first inside ``with uow``; ``commit()``, ``rollback()`` or the end of the unit
        make the connection transactional again before the pool gets it back (``autocommit.py``)."""
        assert self.session is not None
        connection = self.session.connection()
        start_autocommit(connection)
        self._autocommitting = connection

    def _end_autocommit(self) -> None:
        # While the session still holds the connection: ending its transaction hands it back.
        connection, self._autocommitting = self._autocommitting, None
        if connection is not None:
            end_autocommit(connection)

    def rollback(self) -> None:
        assert self.session is not None
        self._end_autocommit()
        self.session.rollback()

    # -- outbox -----------------------------------------------------------------------------
    def emit(
        self,
        event_type: str,
        payload: dict[str, Any] | BaseModel,
        *,
        regency: str,
        aggregate_id: str | uuid.UUID | None = None,
    ) -> EventEnvelope:
        """Validate the event against the catalogue and add it to the outbox in this transaction."""
        envelope = new_event(event_type, payload, regency=regency, correlation_id=self.correlation_id)
        self.add_to_outbox([(envelope, aggregate_id)])
        return envelope

    def add_to_outbox(self, events: list[tuple[EventEnvelope, str | uuid.UUID | None]]) -> None:
        if not events:
            return
        assert self.session is not None
        self.session.execute(
            insert(self._messaging.outbox),
            [
                {
                    "event_id": env.event_id,
                    "event_type": env.type,
                    "aggregate_id": str(agg) if agg is not None else None,
                    "envelope": env.to_dict(),
                }
                for env, agg in events
            ],
        )

    # -- inbox ------------------------------------------------------------------------------
    def claim(self, events: list[EventEnvelope], consumer: str) -> set[uuid.UUID]:
        """Record that ``consumer`` handles ``events`` in this transaction; returns the ids of
        those it had not handled before.

        A concurrent duplicate blocks on the primary key until the first transaction ends, then
        sees the conflict: at most one of them applies the effect.
        """
        assert self.session is not None
        table = self._messaging.processed_events
        ids = list(dict.fromkeys(event.event_id for event in events))
        if not ids:
            return set()
        # Rows passed to execute(), not baked into the statement: one cached statement for any
        # batch size (psycopg2 "insertmanyvalues" sends them as one multi-row INSERT).
        stmt = pg_insert(table).on_conflict_do_nothing().returning(table.c.event_id)
        rows = self.session.execute(stmt, [{"event_id": event_id, "consumer": consumer} for event_id in ids])
        return set(rows.scalars())


def apply_once(
    uow: UnitOfWork,
    events: list[EventEnvelope],
    consumer: str,
    effect: Callable[[Any, list[EventEnvelope]], None],
) -> int:
    """The idempotent consumer: record the events and apply ``effect(uow, fresh_events)`` to those
    ``consumer`` had not handled before, in one transaction. Returns how many took effect.
    """
    with uow:
        claimed = uow.claim(events, consumer)
        fresh = [event for event in {e.event_id: e for e in events}.values() if event.event_id in claimed]
        if fresh:
            effect(uow, fresh)
        uow.commit()
    return len(fresh)
