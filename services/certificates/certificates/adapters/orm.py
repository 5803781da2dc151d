from __future__ import annotations

from sqlalchemy import (
    BigInteger, Boolean, CheckConstraint, Column, Date, DateTime, Index, Integer, MetaData, String, Table,
    UniqueConstraint, Uuid, func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from bimtek_shared.persistence.messaging_tables import define_messaging_tables

metadata = MetaData()
messaging = define_messaging_tables(metadata)

roster = Table(
    "roster",
    metadata,
    Column("participant_id", Uuid, primary_key=True),
    Column("regency", String(5), nullable=False, index=True),
    Column("full_name", String(200), nullable=True),  # NULL once erased (migration 0002)
    Column("position_group", String(10), nullable=False),
    Column("position", String(40), nullable=True),  # NULL once erased
    Column("cooperative_id", Uuid, nullable=True),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # Registration's changes (migration 0002): the newest version of the participant wins.
    Column("status", String(10), nullable=False, server_default="active"),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("status <> 'erased' OR (full_name IS NULL AND position IS NULL)", name="ck_roster_erased"),
)


# What completion will be judged by (migration 0003), from scheduling's events; the newest
# revision or version wins. Ids and days only: scheduling owns the plans.
training_programmes = Table(
    "training_programmes",
    metadata,
    Column("programme_id", Uuid, primary_key=True),
    Column("regency", String(5), nullable=False),
    Column("days_per_session", Integer, nullable=False),
    Column("min_attendance_days", Integer, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

training_sessions = Table(
    "training_sessions",
    metadata,
    Column("session_id", Uuid, primary_key=True),
    Column("programme_id", Uuid, nullable=False, index=True),
    Column("regency", String(5), nullable=False),
    Column("days", ARRAY(Date), nullable=False),
    Column("cancelled", Boolean, nullable=False, server_default="false"),
    Column("venue_name", String(200), nullable=True),  # migration 0006; NULL from events older than the field
    Column("version", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Each cooperative's names as certificates print them (migration 0006), from registration's
# cooperative events, the newest version winning: the desa is its first village's, the kecamatan
# that village's. NULL where an event older than those fields left them out.
cooperatives = Table(
    "cooperatives",
    metadata,
    Column("cooperative_id", Uuid, primary_key=True),
    Column("regency", String(5), nullable=False),
    Column("name", String(200), nullable=False),
    Column("village_name", String(100), nullable=True),
    Column("district_name", String(100), nullable=True),
    Column("regency_name", String(100), nullable=True),
    Column("districts", ARRAY(String(8)), nullable=True),  # kecamatan codes, for progress (migration 0007)
    Column("version", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Each participant's session per programme (participants.assigned).
seats = Table(
    "seats",
    metadata,
    Column("participant_id", Uuid, primary_key=True),
    Column("programme_id", Uuid, primary_key=True),
    Column("session_id", Uuid, nullable=False, index=True),
    Column("revision", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)


# What scheduling decided about attendance (migration 0004): ids, days and figures only.
attendance_days = Table(
    "attendance_days",
    metadata,
    Column("session_id", Uuid, primary_key=True),
    Column("participant_id", Uuid, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("present", Boolean, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),  # the newest word on a day wins
)

closed_sessions = Table(
    "closed_sessions",
    metadata,
    Column("session_id", Uuid, primary_key=True),
    Column("programme_id", Uuid, nullable=False),
    Column("regency", String(5), nullable=False),
    Column("participants", Integer, nullable=False),
    Column("completed", Integer, nullable=False),  # as many completions follow for the session
    Column("closed_at", DateTime(timezone=True), nullable=False),
)

# Who completed which programme: what their certificate will state (the name is on the roster).
completions = Table(
    "completions",
    metadata,
    Column("participant_id", Uuid, primary_key=True),
    Column("programme_id", Uuid, primary_key=True),
    Column("session_id", Uuid, nullable=False, index=True),
    Column("regency", String(5), nullable=False),
    Column("programme_title", String(200), nullable=False),
    Column("session_days", ARRAY(Date), nullable=False),
    Column("days_attended", Integer, nullable=False),
    Column("jp_total", Integer, nullable=False),
    Column("completed_at", DateTime(timezone=True), nullable=False),
)


# Certificates (migration 0005): one per participant and programme, versioned by re-issues.
certificates = Table(
    "certificates",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("public_id", String(32), nullable=False, unique=True),  # >= 128 random bits, in the QR address
    Column("number", String(100), nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("year", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("participant_id", Uuid, nullable=False),
    Column("programme_id", Uuid, nullable=False),
    Column("session_id", Uuid, nullable=False),
    Column("cooperative_id", Uuid, nullable=True),
    Column("position_group", String(10), nullable=False),
    Column("regency", String(5), nullable=False),
    Column("programme_title", String(200), nullable=False),
    Column("session_days", ARRAY(Date), nullable=False),
    Column("days_attended", Integer, nullable=False),
    Column("jp_total", Integer, nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    # What the document prints of the person; withdrawn (NULL) once they are erased. Not signed.
    Column("printed_name", String(200), nullable=True),
    Column("printed_position", String(40), nullable=True),
    # The names of others it was issued with (migration 0006): cooperative, village, district,
    # regency, venue; one not known then (NULL or missing) is printed as known now. Not signed.
    Column("printed_places", JSONB, nullable=True),
    Column("key_id", Integer, nullable=False),
    Column("signature", String(100), nullable=False),  # base64url Ed25519 over the canonical data
    Column("status", String(10), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("revoked_reason", String(500), nullable=True),
    Column("revoked_by", String(64), nullable=True),
    Column("superseded_by", Uuid, nullable=True),
    Column("replaces", Uuid, nullable=True),
    UniqueConstraint("participant_id", "programme_id", "version", name="uq_certificates_participant_programme"),
    # A regency's certificates newest first, the list's default order (migration 0009).
    Index("ix_certificates_regency_issued", "regency", "issued_at", "id"),
)

# The last sequence number given per (regency, year) (migration 0007; the number names no
# programme): bumped with UPDATE ... RETURNING in the issuing transaction, so concurrent issuers
# queue on the row and numbers have no gaps.
certificate_counters = Table(
    "certificate_counters",
    metadata,
    Column("regency", String(5), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("last_sequence", Integer, nullable=False),
)

# What happened to each certificate, with who and why: issued, revoked, superseded, erased.
certificate_history = Table(
    "certificate_history",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("certificate_id", Uuid, nullable=False, index=True),
    Column("action", String(20), nullable=False),
    Column("actor", String(64), nullable=True),
    Column("reason", String(500), nullable=True),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
