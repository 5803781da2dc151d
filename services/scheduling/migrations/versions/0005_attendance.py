"""Attendance: participants' names and positions (for invitations and attendance sheets), each
participant's attendance per session day, the check-in scans taken (by nonce), and closed sessions
with who completed them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # From registration's events; NULL once erased, and for those registered before this column.
    op.add_column("participants", sa.Column("full_name", sa.String(200), nullable=True))
    op.add_column("participants", sa.Column("position", sa.String(80), nullable=True))

    op.create_table(
        "attendance",
        sa.Column("session_id", sa.Uuid, primary_key=True),
        sa.Column("participant_id", sa.Uuid, primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("present", sa.Boolean, nullable=False),
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(200), nullable=True),
        sa.Column("scanned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("source IN ('scan', 'operator')", name="ck_attendance_source"),
    )
    op.create_index("ix_attendance_participant", "attendance", ["participant_id"])

    op.create_table(
        "check_in_scans",
        sa.Column("nonce", sa.String(64), primary_key=True),
        sa.Column("device_id", sa.String(64), nullable=False),
        sa.Column("session_id", sa.Uuid, nullable=False),
        sa.Column("participant_id", sa.Uuid, nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("scanned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("result", sa.String(24), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_check_in_scans_session", "check_in_scans", ["session_id"])

    op.create_table(
        "session_closures",
        sa.Column("session_id", sa.Uuid, primary_key=True),
        sa.Column("programme_id", sa.Uuid, nullable=False),
        sa.Column("closed_by", sa.String(64), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "session_outcomes",
        sa.Column("session_id", sa.Uuid, primary_key=True),
        sa.Column("participant_id", sa.Uuid, primary_key=True),
        sa.Column("programme_id", sa.Uuid, nullable=False),
        sa.Column("days_attended", sa.Integer, nullable=False),
        sa.Column("complete", sa.Boolean, nullable=False),
    )
    op.create_index("ix_session_outcomes_participant", "session_outcomes", ["participant_id"])


def downgrade() -> None:
    for table in ("session_outcomes", "session_closures", "check_in_scans", "attendance"):
        op.drop_table(table)
    op.drop_column("participants", "position")
    op.drop_column("participants", "full_name")
