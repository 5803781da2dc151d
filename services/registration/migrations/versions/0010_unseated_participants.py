"""A seat with no session: a participant a re-plan unseated (``participants.unassigned``) is kept
as their programme's seat at that revision, so an older assignment arriving later cannot seat them
again.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29
"""
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column("progress_seats", "session_id", nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM progress_seats WHERE session_id IS NULL")
    op.alter_column("progress_seats", "session_id", nullable=False)
