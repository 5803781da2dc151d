"""The certificate each completed participant got (from certificates' events): its number, version
and status beside the session outcome.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("session_outcomes", sa.Column("certificate_number", sa.String(100), nullable=True))
    op.add_column("session_outcomes", sa.Column("certificate_version", sa.Integer, nullable=True))
    op.add_column("session_outcomes", sa.Column("certificate_status", sa.String(10), nullable=True))


def downgrade() -> None:
    op.drop_column("session_outcomes", "certificate_status")
    op.drop_column("session_outcomes", "certificate_version")
    op.drop_column("session_outcomes", "certificate_number")
