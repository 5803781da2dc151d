from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, MetaData, String, Table, Uuid, func

from bimtek_shared.persistence.messaging_tables import define_messaging_tables

metadata = MetaData()
messaging = define_messaging_tables(metadata)

participants = Table(
    "participants",
    metadata,
    Column("participant_id", Uuid, primary_key=True),
    Column("regency", String(5), nullable=False),
    Column("position_group", String(10), nullable=False),
    Column("cooperative_id", Uuid, nullable=True),
    Column("status", String(20), nullable=False),
    Column("registered_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_scheduling_participants_regency_status", "regency", "status"),
)
