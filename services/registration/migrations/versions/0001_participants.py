"""Participants, and the outbox and inbox every service has.

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
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("regency", sa.String(5), nullable=False),
        sa.Column("participant_code", sa.String(16), nullable=False, unique=True),
        sa.Column("nik_ciphertext", sa.LargeBinary, nullable=False),
        sa.Column("nik_lookup", sa.LargeBinary(32), nullable=False, unique=True),
        sa.Column("nik_masked", sa.String(16), nullable=False),
        sa.Column("full_name", sa.String(200), nullable=False),
        sa.Column("sex", sa.String(1), nullable=False),
        sa.Column("birth_date", sa.Date, nullable=False),
        sa.Column("phone", sa.String(20), nullable=True),
        sa.Column("position", sa.String(40), nullable=False),
        sa.Column("cooperative_id", sa.Uuid, nullable=True),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index("ix_participants_regency_registered", "participants", ["regency", "registered_at", "id"])


def downgrade() -> None:
    op.drop_table("participants")
    drop_messaging_tables(op)
