"""The names a certificate prints that other services own: each cooperative's (with its first
village's desa, kecamatan and regency names) from registration's events, each session's venue
from scheduling's, and on every certificate the names it was issued with.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cooperatives",
        sa.Column("cooperative_id", sa.Uuid, primary_key=True),
        sa.Column("regency", sa.String(5), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("village_name", sa.String(100), nullable=True),
        sa.Column("district_name", sa.String(100), nullable=True),
        sa.Column("regency_name", sa.String(100), nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.add_column("training_sessions", sa.Column("venue_name", sa.String(200), nullable=True))
    op.add_column("certificates", sa.Column("printed_places", JSONB, nullable=True))


def downgrade() -> None:
    op.drop_column("certificates", "printed_places")
    op.drop_column("training_sessions", "venue_name")
    op.drop_table("cooperatives")
