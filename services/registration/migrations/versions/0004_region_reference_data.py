"""Region reference data (province, kabupaten/kota, kecamatan, desa/kelurahan: names and codes only),
the record of which provinces are loaded, and the warnings of bulk-registration rows.

The data itself is loaded by ``bimtek-registration regions load --province 35``, not here.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "provinces",
        sa.Column("code", sa.String(2), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
    )
    op.create_table(
        "regencies",
        sa.Column("code", sa.String(5), primary_key=True),
        sa.Column("province_code", sa.String(2), sa.ForeignKey("provinces.code"), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('kabupaten', 'kota')", name="ck_regencies_kind"),
    )
    op.create_index("ix_regencies_province_code", "regencies", ["province_code"])
    op.create_table(
        "districts",
        sa.Column("code", sa.String(8), primary_key=True),
        sa.Column("regency_code", sa.String(5), sa.ForeignKey("regencies.code"), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_districts_regency_code", "districts", ["regency_code"])
    op.create_table(
        "villages",
        sa.Column("code", sa.String(13), primary_key=True),
        sa.Column("district_code", sa.String(8), sa.ForeignKey("districts.code"), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('desa', 'kelurahan')", name="ck_villages_kind"),
    )
    op.create_index("ix_villages_district_code", "villages", ["district_code"])
    op.create_table(
        "region_loads",
        sa.Column("province_code", sa.String(2), sa.ForeignKey("provinces.code"), primary_key=True),
        sa.Column("source", sa.String(500), nullable=False),
        sa.Column("files_sha256", sa.String(64), nullable=False),
        sa.Column("regencies", sa.Integer, nullable=False),
        sa.Column("districts", sa.Integer, nullable=False),
        sa.Column("villages", sa.Integer, nullable=False),
        sa.Column("changes", JSONB, nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.add_column("import_rows", sa.Column("warnings", JSONB, nullable=True))


def downgrade() -> None:
    op.drop_column("import_rows", "warnings")
    op.drop_table("region_loads")
    op.drop_table("villages")
    op.drop_table("districts")
    op.drop_table("regencies")
    op.drop_table("provinces")
