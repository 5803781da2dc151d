"""The ``jobs`` table a service keeps for long work (imports, planning, bulk downloads).

A job is created with its input in the same transaction as the event that asks for it to run,
so the work is carried by the outbox and a reliable consumer: a crash resumes it, redelivery does
not repeat it. Clients poll the job for its progress (the gateway answers 202 with its address).
"""
from __future__ import annotations

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Uuid, func, text
from sqlalchemy.dialects.postgresql import JSONB

MAX_REPORTED_ERRORS = 1000  # a job keeps at most this many error rows in its report


def define_jobs_table(metadata: MetaData) -> Table:
    return Table(
        "jobs",
        metadata,
        Column("id", Uuid, primary_key=True),
        Column("kind", String(50), nullable=False),
        Column("regency", String(5), nullable=False),
        Column("requested_by", String(100), nullable=False),
        Column("status", String(20), nullable=False),  # queued, running, succeeded, failed
        Column("total", Integer, nullable=False, server_default=text("0")),
        Column("done", Integer, nullable=False, server_default=text("0")),
        Column("failed", Integer, nullable=False, server_default=text("0")),
        Column("errors", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
        Column("result", JSONB, nullable=True),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("finished_at", DateTime(timezone=True), nullable=True),
    )
