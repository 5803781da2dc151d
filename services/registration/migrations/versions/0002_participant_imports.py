"""Jobs and the rows of bulk registrations.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("regency", sa.String(5), nullable=False),
        sa.Column("requested_by", sa.String(100), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("total", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("done", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("failed", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("errors", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("result", JSONB, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "import_rows",
        sa.Column("job_id", sa.Uuid, sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("row_number", sa.Integer, primary_key=True),
        sa.Column("sealed_row", sa.LargeBinary, nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("participant_id", sa.Uuid, nullable=True),
        sa.Column("error_code", sa.String(60), nullable=True),
        sa.Column("error_params", JSONB, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("import_rows")
    op.drop_table("jobs")
