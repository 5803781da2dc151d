"""Indexes for listing participants and bulk registrations page by page (keyset pagination).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# (name, table, columns): the sorted column and the id that breaks ties, after the equality filter.
INDEXES = [
    ("ix_participants_regency_name", "participants", ["regency", "full_name", "id"]),
    ("ix_participants_registered", "participants", ["registered_at", "id"]),
    ("ix_participants_name", "participants", ["full_name", "id"]),
    ("ix_participants_cooperative_registered", "participants", ["cooperative_id", "registered_at", "id"]),
    ("ix_jobs_requested_by_created", "jobs", ["requested_by", "created_at", "id"]),
]


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
