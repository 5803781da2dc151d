"""Where each cooperative is (regency, kecamatan, name), kept from registration's cooperative events.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cooperatives",
        sa.Column("cooperative_id", sa.Uuid, primary_key=True),
        sa.Column("regency", sa.String(5), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("districts", ARRAY(sa.String(8)), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index("ix_scheduling_cooperatives_regency", "cooperatives", ["regency"])


def downgrade() -> None:
    op.drop_table("cooperatives")
