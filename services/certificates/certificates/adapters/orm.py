from __future__ import annotations

from sqlalchemy import Column, DateTime, MetaData, String, Table, Uuid, func

from bimtek_shared.persistence.messaging_tables import define_messaging_tables

metadata = MetaData()
messaging = define_messaging_tables(metadata)

roster = Table(
    "roster",
    metadata,
    Column("participant_id", Uuid, primary_key=True),
    Column("regency", String(5), nullable=False, index=True),
    Column("full_name", String(200), nullable=False),
    Column("position_group", String(10), nullable=False),
    Column("position", String(40), nullable=False),
    Column("cooperative_id", Uuid, nullable=True),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
