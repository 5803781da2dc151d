from __future__ import annotations

from sqlalchemy import (
    BigInteger, Boolean, CheckConstraint, Column, Date, DateTime, ForeignKey, Index, Integer, MetaData, String, Table,
    Text, Uuid, func, text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

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
    # Registration's version of the participant (migration 0003): the newest seen wins.
    Column("version", Integer, nullable=False, server_default="1"),
    # For invitations and attendance sheets (migration 0005); NULL once erased.
    Column("full_name", String(200), nullable=True),
    Column("position", String(80), nullable=True),
    Index("ix_scheduling_participants_regency_status", "regency", "status"),
)

# Who took whose place (migration 0003), from participant.substituted: the planner seats a
# replacement where the one replaced was.
substitutions = Table(
    "substitutions",
    metadata,
    Column("replaced_participant_id", Uuid, primary_key=True),
    Column("replacement_participant_id", Uuid, nullable=False, unique=True),
    Column("regency", String(5), nullable=False),
    Column("substituted_at", DateTime(timezone=True), nullable=False),
)

# Where each cooperative is (migration 0002), from registration's cooperative events; the newest
# version wins. Planning reads it by regency and kecamatan.
cooperatives = Table(
    "cooperatives",
    metadata,
    Column("cooperative_id", Uuid, primary_key=True),
    Column("regency", String(5), nullable=False),
    Column("name", String(200), nullable=False),
    Column("districts", ARRAY(String(8)), nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_scheduling_cooperatives_regency", "regency"),
)


# -- programmes, venues, resource persons and plans (migration 0004) ---------------------------------
programmes = Table(
    "programmes",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("regency", String(5), nullable=False),
    Column("title", String(200), nullable=False),
    Column("topics", JSONB, nullable=False),  # [[topic, JP], ...] in curriculum order
    Column("days_per_session", Integer, nullable=False),
    Column("window_start", Date, nullable=False),
    Column("window_end", Date, nullable=False),
    Column("min_attendance_days", Integer, nullable=False),
    Column("neighbours", JSONB, nullable=False, server_default=text("'[]'::jsonb")),  # [[kecamatan, kecamatan], ...]
    Column("version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_programmes_regency_window", "regency", "window_start", "id"),
    Index("ix_programmes_regency_created", "regency", "created_at", "id"),
)

venues = Table(
    "venues",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("regency", String(5), nullable=False),
    Column("name", String(200), nullable=False),
    Column("capacity", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_venues_regency_name", "regency", "name", "id"),
)

venue_days = Table(
    "venue_days",
    metadata,
    Column("venue_id", Uuid, ForeignKey("venues.id", ondelete="CASCADE"), primary_key=True),
    Column("day", Date, primary_key=True),
)

# Provincial staff shared by every regency: no regency column on purpose.
resource_persons = Table(
    "resource_persons",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("topics", ARRAY(Text), nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_resource_persons_created", "created_at", "id"),
)

resource_person_available_days = Table(
    "resource_person_available_days",
    metadata,
    Column("person_id", Uuid, ForeignKey("resource_persons.id", ondelete="CASCADE"), primary_key=True),
    Column("day", Date, primary_key=True),
)

# Previews, and the plans published from them or by a re-plan. At most one is published per programme.
plans = Table(
    "plans",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("programme_id", Uuid, ForeignKey("programmes.id"), nullable=False),
    Column("kind", String(10), nullable=False),  # preview | replan
    Column("status", String(12), nullable=False),  # preview | published | superseded
    Column("fingerprint", String(64), nullable=False),  # of the inputs (domain.plans.fingerprint)
    Column("content", JSONB, nullable=False),  # sessions, figures, unplaced, moved, not_plannable
    Column("revision", Integer, nullable=True),  # set once published: 1, 2, ...
    Column("created_by", String(64), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=True),
    CheckConstraint("kind IN ('preview', 'replan')", name="ck_plans_kind"),
    CheckConstraint("status IN ('preview', 'published', 'superseded')", name="ck_plans_status"),
    Index("ix_plans_programme_created", "programme_id", "created_at"),
    Index("ux_plans_one_published", "programme_id", unique=True, postgresql_where=text("status = 'published'")),
)

# The published plan's sessions as they stand (a re-plan updates them in place).
sessions = Table(
    "sessions",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("programme_id", Uuid, ForeignKey("programmes.id"), nullable=False),
    Column("regency", String(5), nullable=False),
    Column("number", Integer, nullable=False),
    Column("days", ARRAY(Date), nullable=False),
    Column("first_day", Date, nullable=False),
    Column("venue_id", Uuid, ForeignKey("venues.id"), nullable=False),
    Column("resource_person_ids", ARRAY(Uuid), nullable=False),
    Column("participants", Integer, nullable=False),
    Column("status", String(10), nullable=False, server_default="scheduled"),  # scheduled | closed
    Column("locked", Boolean, nullable=False, server_default="false"),
    Column("why", JSONB, nullable=False),  # lines in Bahasa Indonesia
    Column("reasons", JSONB, nullable=False),  # [[code, params], ...]
    Column("version", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("status IN ('scheduled', 'closed')", name="ck_sessions_status"),
    Index("ix_sessions_programme", "programme_id", "number"),
    Index("ix_sessions_regency_first_day", "regency", "first_day", "id"),
)

session_cooperatives = Table(
    "session_cooperatives",
    metadata,
    Column("session_id", Uuid, ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True),
    Column("cooperative_id", Uuid, primary_key=True),
    # Its people the plan seats here (PlannedSession.seats): a re-plan starts from these counts.
    Column("participants", Integer, nullable=False),
    Index("ix_session_cooperatives_cooperative", "cooperative_id"),
)

# Participant -> session, per programme (a participant may attend several programmes).
assignments = Table(
    "assignments",
    metadata,
    Column("programme_id", Uuid, ForeignKey("programmes.id"), primary_key=True),
    Column("participant_id", Uuid, primary_key=True),
    Column("session_id", Uuid, ForeignKey("sessions.id"), nullable=False),
    Column("cooperative_id", Uuid, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("assigned_at", DateTime(timezone=True), nullable=False),
    Index("ix_assignments_session", "session_id"),
    Index("ix_assignments_participant", "participant_id"),
)

# Manual moves: a cooperative pinned to a session; every re-plan keeps it there.
pins = Table(
    "pins",
    metadata,
    Column("programme_id", Uuid, ForeignKey("programmes.id"), primary_key=True),
    Column("cooperative_id", Uuid, primary_key=True),
    Column("session_id", Uuid, ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
    Column("pinned_by", String(64), nullable=True),
    Column("pinned_at", DateTime(timezone=True), nullable=False),
)

# A resource person's published days, province-wide. The primary key makes a second booking of
# a person on a day impossible, whichever regency publishes it and however concurrently.
resource_person_days = Table(
    "resource_person_days",
    metadata,
    Column("person_id", Uuid, ForeignKey("resource_persons.id"), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("session_id", Uuid, ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
    Column("programme_id", Uuid, ForeignKey("programmes.id"), nullable=False),
    Index("ix_resource_person_days_programme", "programme_id"),
)

# Re-plans a published programme owes: consumers count changes up, the re-plan counts them off.
replan_requests = Table(
    "replan_requests",
    metadata,
    Column("programme_id", Uuid, ForeignKey("programmes.id"), primary_key=True),
    Column("requested", BigInteger, nullable=False),
    Column("handled", BigInteger, nullable=False, server_default="0"),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("handled_at", DateTime(timezone=True), nullable=True),
)


# -- attendance (migration 0005) ------------------------------------------------------------------
# Each participant's attendance per session day: from a check-in scan, or set by an operator,
# whose word stands over any scan uploaded later. No foreign keys: attendance outlives a re-plan.
attendance = Table(
    "attendance",
    metadata,
    Column("session_id", Uuid, primary_key=True),
    Column("participant_id", Uuid, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("present", Boolean, nullable=False),
    Column("source", String(10), nullable=False),  # scan | operator
    Column("recorded_by", String(64), nullable=False),  # the device token's id, or the operator's user id
    Column("reason", String(200), nullable=True),  # the operator's
    Column("scanned_at", DateTime(timezone=True), nullable=True),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("source IN ('scan', 'operator')", name="ck_attendance_source"),
    Index("ix_attendance_participant", "participant_id"),
)

# Every valid scan taken, by the phone's nonce: an upload sent again finds its scans here.
check_in_scans = Table(
    "check_in_scans",
    metadata,
    Column("nonce", String(64), primary_key=True),
    Column("device_id", String(64), nullable=False),
    Column("session_id", Uuid, nullable=False),
    Column("participant_id", Uuid, nullable=False),
    Column("day", Date, nullable=False),
    Column("scanned_at", DateTime(timezone=True), nullable=False),
    Column("result", String(24), nullable=False),  # recorded | already_present | overruled_by_operator
    Column("received_at", DateTime(timezone=True), nullable=False),
    Index("ix_check_in_scans_session", "session_id"),
)

session_closures = Table(
    "session_closures",
    metadata,
    Column("session_id", Uuid, primary_key=True),
    Column("programme_id", Uuid, nullable=False),
    Column("closed_by", String(64), nullable=False),
    Column("closed_at", DateTime(timezone=True), nullable=False),
)

# Who completed a closed session and who did not, as decided when it closed.
session_outcomes = Table(
    "session_outcomes",
    metadata,
    Column("session_id", Uuid, primary_key=True),
    Column("participant_id", Uuid, primary_key=True),
    Column("programme_id", Uuid, nullable=False),
    Column("days_attended", Integer, nullable=False),
    Column("complete", Boolean, nullable=False),
    # The certificate a completion earned, from certificates' events (migration 0006).
    Column("certificate_number", String(100), nullable=True),
    Column("certificate_version", Integer, nullable=True),
    Column("certificate_status", String(10), nullable=True),
    Index("ix_session_outcomes_participant", "participant_id"),
)
