"""The roster follows registration's changes: status and version of each participant; name and
position become nullable, because an erasure leaves only a tombstone.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("roster", sa.Column("status", sa.String(10), nullable=False, server_default="active"))
    op.add_column("roster", sa.Column("version", sa.Integer, nullable=False, server_default="1"))
    op.add_column("roster", sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False,
                                      server_default=sa.func.now()))
    op.alter_column("roster", "full_name", nullable=True)
    op.alter_column("roster", "position", nullable=True)
    op.create_check_constraint("ck_roster_erased", "roster", "status <> 'erased' OR (full_name IS NULL AND position IS NULL)")


def downgrade() -> None:
    op.drop_constraint("ck_roster_erased", "roster")
    op.execute("DELETE FROM roster WHERE status = 'erased'")  # the old shape required a name and position
    op.alter_column("roster", "position", nullable=False)
    op.alter_column("roster", "full_name", nullable=False)
    op.drop_column("roster", "updated_at")
    op.drop_column("roster", "version")
    op.drop_column("roster", "status")
