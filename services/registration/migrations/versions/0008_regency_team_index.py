"""An index holding what the cooperative statistics and the progress counts read of the
participants of a regency (cooperative, position, status): they are counted from the index alone,
without visiting the participants scattered over the table.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The team columns only included, not keys: a cooperative's list keeps its own index
    # (cooperative, registered_at), which gives the page in order.
    op.create_index("ix_participants_regency_team", "participants", ["regency"],
                    postgresql_include=["cooperative_id", "position", "status"])


def downgrade() -> None:
    op.drop_index("ix_participants_regency_team", table_name="participants")
