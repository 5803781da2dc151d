"""What scheduling decides about attendance: days attended per session, closed sessions, and the
participants who completed a programme (what a certificate will state).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attendance_days",
        sa.Column("session_id", sa.Uuid, primary_key=True),
        sa.Column("participant_id", sa.Uuid, primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("present", sa.Boolean, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "closed_sessions",
        sa.Column("session_id", sa.Uuid, primary_key=True),
        sa.Column("programme_id", sa.Uuid, nullable=False),
        sa.Column("regency", sa.String(5), nullable=False),
        sa.Column("participants", sa.Integer, nullable=False),
        sa.Column("completed", sa.Integer, nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "completions",
        sa.Column("participant_id", sa.Uuid, primary_key=True),
        sa.Column("programme_id", sa.Uuid, primary_key=True),
        sa.Column("session_id", sa.Uuid, nullable=False),
        sa.Column("regency", sa.String(5), nullable=False),
        sa.Column("programme_title", sa.String(200), nullable=False),
        sa.Column("session_days", ARRAY(sa.Date), nullable=False),
        sa.Column("days_attended", sa.Integer, nullable=False),
        sa.Column("jp_total", sa.Integer, nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_completions_session_id", "completions", ["session_id"])


def downgrade() -> None:
    op.drop_table("completions")
    op.drop_table("closed_sessions")
    op.drop_table("attendance_days")
