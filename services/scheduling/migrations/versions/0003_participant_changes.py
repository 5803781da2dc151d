"""Participants' changes from registration: the version last applied, and who substituted whom.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("participants", sa.Column("version", sa.Integer, nullable=False, server_default="1"))
    op.create_table(
        "substitutions",
        sa.Column("replaced_participant_id", sa.Uuid, primary_key=True),
        sa.Column("replacement_participant_id", sa.Uuid, nullable=False, unique=True),
        sa.Column("regency", sa.String(5), nullable=False),
        sa.Column("substituted_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("substitutions")
    op.drop_column("participants", "version")
