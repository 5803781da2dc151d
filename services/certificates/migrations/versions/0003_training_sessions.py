"""What scheduling published: programmes (attendance needed to complete), sessions (their days)
and each participant's session, kept from scheduling's events.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "training_programmes",
        sa.Column("programme_id", sa.Uuid, primary_key=True),
        sa.Column("regency", sa.String(5), nullable=False),
        sa.Column("days_per_session", sa.Integer, nullable=False),
        sa.Column("min_attendance_days", sa.Integer, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "training_sessions",
        sa.Column("session_id", sa.Uuid, primary_key=True),
        sa.Column("programme_id", sa.Uuid, nullable=False),
        sa.Column("regency", sa.String(5), nullable=False),
        sa.Column("days", ARRAY(sa.Date), nullable=False),
        sa.Column("cancelled", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index("ix_training_sessions_programme_id", "training_sessions", ["programme_id"])
    op.create_table(
        "seats",
        sa.Column("participant_id", sa.Uuid, primary_key=True),
        sa.Column("programme_id", sa.Uuid, primary_key=True),
        sa.Column("session_id", sa.Uuid, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index("ix_seats_session_id", "seats", ["session_id"])


def downgrade() -> None:
    op.drop_table("seats")
    op.drop_table("training_sessions")
    op.drop_table("training_programmes")
