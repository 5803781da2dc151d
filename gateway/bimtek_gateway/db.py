"""The gateway's own database: identity (users, refresh tokens, device tokens) and idempotency records.

Secrets (refresh and device tokens) are stored only as SHA-256 digests: a stolen table holds nothing
a client could present.
"""
from __future__ import annotations

from sqlalchemy import (
    Boolean, Column, Date, DateTime, Index, Integer, LargeBinary, MetaData, PrimaryKeyConstraint, String,
    Table, Uuid, func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from bimtek_shared.sql_pool import ping_connections_idle_for

metadata = MetaData()

users = Table(
    "users",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("username", String(100), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("role", String(30), nullable=False),
    # A regency code, or "*" for a province administrator.
    Column("regency", String(5), nullable=False),
    # Only for cooperative operators: the one cooperative whose people they may see and change.
    Column("cooperative_id", Uuid, nullable=True),
    Column("active", Boolean, nullable=False, server_default="true"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Rotating refresh tokens. Each use retires the token and issues the next one in the same family;
# presenting a retired token again means it was copied, so the whole family is revoked.
refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("family_id", Uuid, nullable=False, index=True),
    Column("token_sha256", LargeBinary(32), nullable=False, unique=True),
    Column("subject", String(64), nullable=False),  # a user id, or a participant id
    Column("subject_kind", String(20), nullable=False),  # "user" or "participant"
    Column("role", String(30), nullable=False),
    Column("regency", String(5), nullable=False),
    Column("cooperative_id", Uuid, nullable=True),
    Column("issued_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    # Deactivating a user or resetting a password revokes all of the user's families at once.
    Index("ix_refresh_tokens_subject", "subject_kind", "subject"),
    Index("ix_refresh_tokens_expires_at", "expires_at"),  # housekeeping deletes the expired
)

# Check-in phones: an opaque token issued by an administrator, limited to a regency and to a venue,
# a session and/or a date range, revocable at once (every request looks the token up).
device_tokens = Table(
    "device_tokens",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("token_sha256", LargeBinary(32), nullable=False, unique=True),
    Column("label", String(100), nullable=False),
    Column("regency", String(5), nullable=False, index=True),
    Column("venue_id", Uuid, nullable=True),
    Column("session_id", Uuid, nullable=True),
    Column("valid_from", Date, nullable=True),
    Column("valid_until", Date, nullable=True),
    Column("issued_by", Uuid, nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("last_used_at", DateTime(timezone=True), nullable=True),
)

# Idempotency-Key records: one per (principal, key), kept 24 hours. While the first request runs
# the record is "in_flight" (a concurrent retry answers 409); afterwards it holds the response,
# which a retry with the same body gets back unchanged.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("principal", String(80), nullable=False),  # "user:<id>", "participant:<id>", "device:<token sha256>"
    Column("key", String(255), nullable=False),
    Column("method", String(10), nullable=False),
    Column("path", String(500), nullable=False),
    Column("request_sha256", LargeBinary(32), nullable=False),
    Column("state", String(12), nullable=False),  # "in_flight" or "completed"
    Column("locked_until", DateTime(timezone=True), nullable=True),  # a crashed holder's claim lapses
    Column("response_status", Integer, nullable=True),
    Column("response_headers", JSONB, nullable=True),
    Column("response_body", LargeBinary, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("principal", "key", name="pk_idempotency_keys"),
    Index("ix_idempotency_keys_expires_at", "expires_at"),
)


def make_engine(url: str, pool_size: int = 10) -> AsyncEngine:
    engine = create_async_engine(url, pool_size=pool_size, max_overflow=5)
    ping_connections_idle_for(engine.sync_engine)
    return engine


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker:
    return async_sessionmaker(engine, expire_on_commit=False)
