"""Bulk import from CSV/XLSX files: the uploaded file of a job (sealed until checked, its SHA-256
kept to recognise the same file uploaded again) and the checked rows waiting to be registered.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "import_files",
        sa.Column("job_id", sa.Uuid, sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("scope", sa.String(5), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("file_format", sa.String(4), nullable=False),
        sa.Column("dry_run", sa.Boolean, nullable=False),
        sa.Column("import_valid_rows_only", sa.Boolean, nullable=False),
        sa.Column("sealed_file", sa.LargeBinary, nullable=True),
    )
    op.create_index("ix_import_files_scope_sha256", "import_files", ["scope", "sha256"])
    op.create_table(
        "import_chunks",
        sa.Column("job_id", sa.Uuid, sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("chunk_number", sa.Integer, primary_key=True),
        sa.Column("sealed_rows", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("import_chunks")
    op.drop_table("import_files")
