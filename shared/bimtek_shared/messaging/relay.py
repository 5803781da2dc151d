"""The outbox relay: publishes committed events from a service's outbox to RabbitMQ.

- One relay per service publishes at a time (a PostgreSQL advisory lock elects it), in outbox
  ``id`` order, so events of one aggregate reach the exchange in the order they were committed.
  Other replicas stand by and take over within ``standby_poll`` seconds if the leader dies.
- A row is stamped ``published_at`` only after the broker confirmed it; a crash in between
  publishes it again, which consumers absorb (they deduplicate by ``event_id``).
- A row the broker refuses is retried with backoff; until it goes through, later rows of the same
  aggregate wait behind it, while other aggregates flow on. A batch holds at most one row per
  aggregate, so no later row can overtake an earlier one that the broker then refuses.
- It sleeps on LISTEN and wakes when a transaction adds events (see ``messaging_tables``).

The loop is plain blocking code: under eventlet (in the services) psycopg2 and the sockets are
cooperative, so it runs in a greenthread; in a benchmark or test it runs in a thread.
"""
from __future__ import annotations

import json
import logging
import select
import time
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable

import psycopg2
import psycopg2.extensions
from sqlalchemy import Engine, bindparam, func, select as sa_select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from ..observability import metrics
from ..persistence.autocommit import autocommit_connection
from ..persistence.messaging_tables import OUTBOX_NOTIFY_CHANNEL, MessagingTables
from .publisher import ConfirmingPublisher, Outcome, OutgoingMessage
from .topology import events_exchange

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RelaySettings:
    batch_size: int = 500
    idle_poll: float = 1.0  # seconds between checks when no notification arrives
    standby_poll: float = 2.0  # how often a standby replica tries to become the leader
    retry_base: float = 1.0  # backoff of a refused row: base * 2**attempts, capped
    retry_cap: float = 300.0
    gauge_interval: float = 5.0
    published_retention: timedelta = timedelta(days=7)
    processed_retention: timedelta = timedelta(days=30)
    housekeeping_interval: float = 3600.0


class OutboxRelay:
    def __init__(
        self,
        service: str,
        engine: Engine,
        tables: MessagingTables,
        amqp_uri: str,
        settings: RelaySettings = RelaySettings(),
    ) -> None:
        self.service = service
        self._engine = engine
        self._outbox = tables.outbox
        self._processed = tables.processed_events
        self._settings = settings
        self._publisher = ConfirmingPublisher(amqp_uri)
        self._exchange = events_exchange(service).name
        self._lock_key = zlib.crc32(f"bimtek-outbox-relay:{service}".encode())
        self._leader_conn: psycopg2.extensions.connection | None = None
        self._next_gauges = 0.0
        self._next_housekeeping = 0.0
        outbox = self._outbox
        self._pending = (
            sa_select(outbox.c.id, outbox.c.event_id, outbox.c.event_type, outbox.c.aggregate_id, outbox.c.envelope,
                      outbox.c.attempts, outbox.c.next_attempt_at)
            .where(outbox.c.published_at.is_(None)).order_by(outbox.c.id).limit(bindparam("limit"))
        )

    # -- leadership and wake-ups ------------------------------------------------------------
    @property
    def is_leader(self) -> bool:
        return self._leader_conn is not None and not self._leader_conn.closed

    def _try_lead(self) -> bool:
        dsn = make_url(self._engine.url).set(drivername="postgresql").render_as_string(hide_password=False)
        conn = psycopg2.connect(dsn, application_name=f"{self.service}-outbox-relay")
        conn.set_session(autocommit=True)
        with conn.cursor() as cur:
            cur.execute("SELECT pg_try_advisory_lock(%s)", (self._lock_key,))
            (locked,) = cur.fetchone()
            if not locked:
                conn.close()
                return False
            cur.execute(f"LISTEN {OUTBOX_NOTIFY_CHANNEL}")
        self._leader_conn = conn
        log.info("outbox relay of %s is now publishing", self.service)
        return True

    def _wait_for_events(self, timeout: float) -> None:
        conn = self._leader_conn
        if conn is None:
            time.sleep(timeout)
            return
        if not conn.notifies:
            # Under eventlet, select() is the green one: this parks only this greenthread.
            ready, _, _ = select.select([conn], [], [], timeout)
            if ready:
                conn.poll()
        conn.notifies.clear()

    def _drop_leadership(self) -> None:
        if self._leader_conn is not None:
            try:
                self._leader_conn.close()
            except Exception:  # noqa: BLE001
                pass
        self._leader_conn = None

    def close(self) -> None:
        self._drop_leadership()
        self._publisher.close()

    # -- the loop ---------------------------------------------------------------------------
    def run(self, should_stop: Callable[[], bool]) -> None:
        backoff = 0.5
        while not should_stop():
            try:
                # Every replica, leading or not, and a leader paused by a broker outage keep the
                # backlog gauges current: a frozen gauge would hide the backlog its alert is about.
                self._refresh_gauges_when_due()
                if not self.is_leader and not self._try_lead():
                    time.sleep(self._settings.standby_poll)
                    continue
                more_waiting = self.publish_pending()
                self._periodic_upkeep()
                backoff = 0.5
                if not more_waiting:  # a commit since the batch was read has notified: no wake-up is lost
                    self._wait_for_events(self._settings.idle_poll)
            except Exception as exc:  # noqa: BLE001 - the relay must outlive any outage
                reason = "database_error" if isinstance(exc, (psycopg2.Error, SQLAlchemyError)) else "broker_error"
                metrics.OUTBOX_PUBLISH_FAILURES.labels(self.service, reason).inc()
                log.warning("outbox relay of %s paused (%s: %s); retrying in %.1fs",
                            self.service, type(exc).__name__, exc, backoff)
                self._drop_leadership()
                self._publisher.close()
                time.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
        self.close()

    def publish_pending(self) -> bool:
        """Publish one batch of pending events; returns whether more may be publishable at once (a
        full batch was read, or a later event of an aggregate waited behind an earlier one). Each
        statement commits alone: none needs another's transaction, and BEGIN and COMMIT were most
        of a small batch's round trips."""
        outbox = self._outbox
        now = datetime.now(timezone.utc)
        with autocommit_connection(self._engine) as conn:
            rows = conn.execute(self._pending, {"limit": self._settings.batch_size}).all()
        if not rows:
            return False

        # At most one event per aggregate per batch: whether a message was refused is known only
        # once the whole batch is confirmed, and by then a later event of the same aggregate must
        # not have gone out ahead of it. Aggregates with an earlier row waiting are skipped too.
        held_back: set[str] = set()
        publishing: set[str] = set()  # aggregates with an event in this batch
        waiting_behind = False  # a later event of one of them: publishable as soon as this batch is
        batch: list[OutgoingMessage] = []
        for row in rows:
            if row.aggregate_id is not None:
                if row.aggregate_id in held_back:
                    waiting_behind = waiting_behind or row.aggregate_id in publishing
                    continue
                held_back.add(row.aggregate_id)
            if row.next_attempt_at is not None and row.next_attempt_at > now:
                continue
            if row.aggregate_id is not None:
                publishing.add(row.aggregate_id)
            batch.append(
                OutgoingMessage(
                    key=row.id,
                    exchange=self._exchange,
                    routing_key=row.event_type,
                    body=json.dumps(row.envelope, separators=(",", ":")),
                    message_id=str(row.event_id),
                    correlation_id=row.envelope.get("correlation_id"),
                )
            )
        more_waiting = waiting_behind or len(rows) == self._settings.batch_size
        outcomes = self._publisher.publish_batch(batch)

        confirmed = [key for key, outcome in outcomes.items() if outcome is Outcome.CONFIRMED]
        by_id = {row.id: row for row in rows}
        with autocommit_connection(self._engine) as conn:
            if confirmed:
                conn.execute(
                    update(outbox).where(outbox.c.id.in_(confirmed)).values(published_at=func.now())
                )
            for key, outcome in outcomes.items():
                if outcome is Outcome.CONFIRMED:
                    metrics.OUTBOX_PUBLISHED.labels(self.service, by_id[key].event_type).inc()
                    continue
                attempts = by_id[key].attempts + 1
                delay = min(self._settings.retry_base * 2 ** (attempts - 1), self._settings.retry_cap)
                metrics.OUTBOX_PUBLISH_FAILURES.labels(self.service, outcome.value).inc()
                log.error("event %s (%s) not published: %s; attempt %d, next in %.0fs",
                          by_id[key].event_id, by_id[key].event_type, outcome.value, attempts, delay)
                conn.execute(
                    update(outbox)
                    .where(outbox.c.id == key)
                    .values(
                        attempts=attempts,
                        next_attempt_at=now + timedelta(seconds=delay),
                        last_error=outcome.value,
                    )
                )
        return more_waiting

    # -- gauges and housekeeping -------------------------------------------------------------
    def _refresh_gauges_when_due(self) -> None:
        now = time.monotonic()
        if now >= self._next_gauges:
            self._next_gauges = now + self._settings.gauge_interval
            self.update_gauges()

    def _periodic_upkeep(self) -> None:
        now = time.monotonic()
        if now >= self._next_housekeeping:
            self._next_housekeeping = now + self._settings.housekeeping_interval
            self.delete_old_rows()

    def update_gauges(self) -> None:
        outbox = self._outbox
        with self._engine.connect() as conn:
            count, oldest = conn.execute(
                sa_select(func.count(), func.min(outbox.c.created_at)).where(outbox.c.published_at.is_(None))
            ).one()
        metrics.OUTBOX_BACKLOG.labels(self.service).set(count)
        age = (datetime.now(timezone.utc) - oldest).total_seconds() if oldest else 0.0
        metrics.OUTBOX_OLDEST_AGE.labels(self.service).set(max(age, 0.0))

    def delete_old_rows(self) -> None:
        now = datetime.now(timezone.utc)
        with self._engine.begin() as conn:
            conn.execute(
                self._outbox.delete().where(
                    self._outbox.c.published_at < now - self._settings.published_retention
                )
            )
            conn.execute(
                self._processed.delete().where(
                    self._processed.c.processed_at < now - self._settings.processed_retention
                )
            )
