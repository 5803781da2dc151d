"""Participants waiting for a session, and the outbox and inbox every service has.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

from bimtek_shared.persistence.migrations import create_messaging_tables, drop_messaging_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_messaging_tables(op)
    op.create_table(
        "participants",
        sa.Column("participant_id", sa.Uuid, primary_key=True),
        sa.Column("regency", sa.String(5), nullable=False),
        sa.Column("position_group", sa.String(10), nullable=False),
        sa.Column("cooperative_id", sa.Uuid, nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index("ix_scheduling_participants_regency_status", "participants", ["regency", "status"])


def downgrade() -> None:
    op.drop_table("participants")
    drop_messaging_tables(op)
