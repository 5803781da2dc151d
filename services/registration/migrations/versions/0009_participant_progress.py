"""A participant's progress as scheduling and certificates report it in their events (their
sessions, seats and certificates), so that reading a participant with their progress is one call
to registration instead of one to each service.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "progress_sessions",
        sa.Column("session_id", sa.Uuid, primary_key=True),
        sa.Column("programme_id", sa.Uuid, nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("days", postgresql.ARRAY(sa.Date), nullable=False),
        sa.Column("venue_id", sa.Uuid, nullable=False),
        sa.Column("venue_name", sa.String(200), nullable=True),
        sa.Column("cancelled", sa.Boolean, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_table(
        "progress_seats",
        sa.Column("participant_id", sa.Uuid, primary_key=True),
        sa.Column("programme_id", sa.Uuid, primary_key=True),
        sa.Column("session_id", sa.Uuid, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
    )
    op.create_table(
        "progress_certificates",
        sa.Column("participant_id", sa.Uuid, primary_key=True),
        sa.Column("programme_id", sa.Uuid, primary_key=True),
        sa.Column("number", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("progress_certificates")
    op.drop_table("progress_seats")
    op.drop_table("progress_sessions")
