"""The certificate list of a regency, newest first, read as an index range: the regency index
becomes (regency, issued_at, id), the list's default order after its filter, so a page no longer
sorts every certificate of the regency. Still one index on the regency, so issuing writes no more.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28
"""
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_certificates_regency_issued", "certificates", ["regency", "issued_at", "id"])
    op.drop_index("ix_certificates_regency", table_name="certificates")


def downgrade() -> None:
    op.create_index("ix_certificates_regency", "certificates", ["regency"])
    op.drop_index("ix_certificates_regency_issued", table_name="certificates")
