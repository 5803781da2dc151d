"""The outbox and inbox tables every service database has.

- ``outbox``: events written in the same transaction as the state change that caused them; the
  relay publishes them in ``id`` order and stamps ``published_at`` once the broker confirmed.
- ``processed_events`` (the inbox): one row per (event, consumer) handled, written in the same
  transaction as the handler's effect, so a redelivered event is recognised and skipped.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

OUTBOX_NOTIFY_CHANNEL = "bimtek_outbox"


@dataclass(frozen=True)
class MessagingTables:
    outbox: Table
    processed_events: Table


def define_messaging_tables(metadata: MetaData) -> MessagingTables:
    outbox = Table(
        "outbox",
        metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("event_id", Uuid, nullable=False, unique=True),
        Column("event_type", String(100), nullable=False),
        Column("aggregate_id", String(100), nullable=True),
        Column("envelope", JSONB, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("published_at", DateTime(timezone=True), nullable=True),
        Column("attempts", Integer, nullable=False, server_default=text("0")),
        Column("next_attempt_at", DateTime(timezone=True), nullable=True),
        Column("last_error", Text, nullable=True),
        Index("ix_outbox_pending", "id", postgresql_where=text("published_at IS NULL")),
        Index("ix_outbox_published_at", "published_at"),
    )
    processed = Table(
        "processed_events",
        metadata,
        Column("event_id", Uuid, primary_key=True),
        Column("consumer", String(200), primary_key=True),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Index("ix_processed_events_processed_at", "processed_at"),
    )
    return MessagingTables(outbox=outbox, processed_events=processed)


# The relay sleeps on LISTEN; this trigger wakes it as soon as a transaction with new events commits
# (PostgreSQL delivers notifications only on commit, and folds repeats within one transaction).
CREATE_NOTIFY_TRIGGER = f"""
CREATE OR REPLACE FUNCTION bimtek_notify_outbox() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('{OUTBOX_NOTIFY_CHANNEL}', '');
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
  FOR EACH STATEMENT EXECUTE FUNCTION bimtek_notify_outbox();
"""

DROP_NOTIFY_TRIGGER = """
DROP TRIGGER IF EXISTS outbox_notify ON outbox;
DROP FUNCTION IF EXISTS bimtek_notify_outbox();
"""
