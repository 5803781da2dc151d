"""Programmes, venues, resource persons, plans and their sessions, who sits where, manual moves,
resource persons' booked days (one booking per person and day, province-wide) and re-plan requests.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _timestamps() -> list[sa.Column]:
    return [sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False)]


def upgrade() -> None:
    op.create_table(
        "programmes",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("regency", sa.String(5), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("topics", JSONB, nullable=False),
        sa.Column("days_per_session", sa.Integer, nullable=False),
        sa.Column("window_start", sa.Date, nullable=False),
        sa.Column("window_end", sa.Date, nullable=False),
        sa.Column("min_attendance_days", sa.Integer, nullable=False),
        sa.Column("neighbours", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("version", sa.Integer, nullable=False),
        *_timestamps(),
    )
    op.create_index("ix_programmes_regency_window", "programmes", ["regency", "window_start", "id"])
    op.create_index("ix_programmes_regency_created", "programmes", ["regency", "created_at", "id"])

    op.create_table(
        "venues",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("regency", sa.String(5), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("capacity", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        *_timestamps(),
    )
    op.create_index("ix_venues_regency_name", "venues", ["regency", "name", "id"])
    op.create_table(
        "venue_days",
        sa.Column("venue_id", sa.Uuid, sa.ForeignKey("venues.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
    )

    op.create_table(
        "resource_persons",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("topics", ARRAY(sa.Text), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        *_timestamps(),
    )
    op.create_index("ix_resource_persons_created", "resource_persons", ["created_at", "id"])
    op.create_table(
        "resource_person_available_days",
        sa.Column("person_id", sa.Uuid, sa.ForeignKey("resource_persons.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
    )

    op.create_table(
        "plans",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("programme_id", sa.Uuid, sa.ForeignKey("programmes.id"), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("content", JSONB, nullable=False),
        sa.Column("revision", sa.Integer, nullable=True),
        sa.Column("created_by", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('preview', 'replan')", name="ck_plans_kind"),
        sa.CheckConstraint("status IN ('preview', 'published', 'superseded')", name="ck_plans_status"),
    )
    op.create_index("ix_plans_programme_created", "plans", ["programme_id", "created_at"])
    op.create_index("ux_plans_one_published", "plans", ["programme_id"], unique=True,
                    postgresql_where=sa.text("status = 'published'"))

    op.create_table(
        "sessions",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("programme_id", sa.Uuid, sa.ForeignKey("programmes.id"), nullable=False),
        sa.Column("regency", sa.String(5), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("days", ARRAY(sa.Date), nullable=False),
        sa.Column("first_day", sa.Date, nullable=False),
        sa.Column("venue_id", sa.Uuid, sa.ForeignKey("venues.id"), nullable=False),
        sa.Column("resource_person_ids", ARRAY(sa.Uuid), nullable=False),
        sa.Column("participants", sa.Integer, nullable=False),
        sa.Column("status", sa.String(10), nullable=False, server_default="scheduled"),
        sa.Column("locked", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("why", JSONB, nullable=False),
        sa.Column("reasons", JSONB, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('scheduled', 'closed')", name="ck_sessions_status"),
    )
    op.create_index("ix_sessions_programme", "sessions", ["programme_id", "number"])
    op.create_index("ix_sessions_regency_first_day", "sessions", ["regency", "first_day", "id"])
    op.create_table(
        "session_cooperatives",
        sa.Column("session_id", sa.Uuid, sa.ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("cooperative_id", sa.Uuid, primary_key=True),
        sa.Column("participants", sa.Integer, nullable=False),
    )
    op.create_index("ix_session_cooperatives_cooperative", "session_cooperatives", ["cooperative_id"])

    op.create_table(
        "assignments",
        sa.Column("programme_id", sa.Uuid, sa.ForeignKey("programmes.id"), primary_key=True),
        sa.Column("participant_id", sa.Uuid, primary_key=True),
        sa.Column("session_id", sa.Uuid, sa.ForeignKey("sessions.id"), nullable=False),
        sa.Column("cooperative_id", sa.Uuid, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_assignments_session", "assignments", ["session_id"])
    op.create_index("ix_assignments_participant", "assignments", ["participant_id"])

    op.create_table(
        "pins",
        sa.Column("programme_id", sa.Uuid, sa.ForeignKey("programmes.id"), primary_key=True),
        sa.Column("cooperative_id", sa.Uuid, primary_key=True),
        sa.Column("session_id", sa.Uuid, sa.ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("pinned_by", sa.String(64), nullable=True),
        sa.Column("pinned_at", sa.DateTime(timezone=True), nullable=False),
    )

    op.create_table(
        "resource_person_days",
        sa.Column("person_id", sa.Uuid, sa.ForeignKey("resource_persons.id"), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("session_id", sa.Uuid, sa.ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("programme_id", sa.Uuid, sa.ForeignKey("programmes.id"), nullable=False),
    )
    op.create_index("ix_resource_person_days_programme", "resource_person_days", ["programme_id"])

    op.create_table(
        "replan_requests",
        sa.Column("programme_id", sa.Uuid, sa.ForeignKey("programmes.id"), primary_key=True),
        sa.Column("requested", sa.BigInteger, nullable=False),
        sa.Column("handled", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    for table in ("replan_requests", "resource_person_days", "pins", "assignments", "session_cooperatives",
                  "sessions", "plans", "resource_person_available_days", "resource_persons", "venue_days",
                  "venues", "programmes"):
        op.drop_table(table)
