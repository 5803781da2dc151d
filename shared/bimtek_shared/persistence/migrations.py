"""Alembic operations shared by every service's first migration, so the tables are defined once."""
from __future__ import annotations

from sqlalchemy import MetaData

from .messaging_tables import CREATE_NOTIFY_TRIGGER, DROP_NOTIFY_TRIGGER, define_messaging_tables


def create_messaging_tables(op) -> None:  # op: alembic.op
    metadata = MetaData()
    tables = define_messaging_tables(metadata)
    metadata.create_all(op.get_bind(), tables=[tables.outbox, tables.processed_events])
    op.execute(CREATE_NOTIFY_TRIGGER)


def drop_messaging_tables(op) -> None:
    op.execute(DROP_NOTIFY_TRIGGER)
    op.drop_table("processed_events")
    op.drop_table("outbox")
