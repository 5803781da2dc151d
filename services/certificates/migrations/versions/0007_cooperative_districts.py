"""Each cooperative's kecamatan codes (from registration's cooperative events), so certificates
counts its progress per kecamatan. NULL for cooperatives known from events before this column
(their next event fills it); those count in their regency's totals only.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("cooperatives", sa.Column("districts", ARRAY(sa.String(8)), nullable=True))


def downgrade() -> None:
    op.drop_column("cooperatives", "districts")
