"""Cooperatives and the villages each serves (a village at most one), and participants' cooperative
as a foreign key.

The foreign key is added NOT VALID: it holds for every row written from now on, while rows
registered before cooperatives were recorded keep whatever cooperative id they were given.
``ALTER TABLE participants VALIDATE CONSTRAINT fk_participants_cooperative`` checks the old rows
too, once they are known to be clean.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cooperatives",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("regency", sa.String(5), sa.ForeignKey("regencies.code"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("legal_entity_number", sa.String(80), nullable=True),
        sa.Column("contact_phone", sa.String(20), nullable=True),
        sa.Column("contact_email", sa.String(254), nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_cooperatives_regency_name", "cooperatives", ["regency", "name", "id"])
    op.create_index("ix_cooperatives_regency_created", "cooperatives", ["regency", "created_at", "id"])
    op.create_index("ix_cooperatives_name", "cooperatives", ["name", "id"])
    op.create_index("ix_cooperatives_created", "cooperatives", ["created_at", "id"])
    op.create_table(
        "cooperative_villages",
        sa.Column("village_code", sa.String(13), sa.ForeignKey("villages.code"), primary_key=True),
        sa.Column("cooperative_id", sa.Uuid, sa.ForeignKey("cooperatives.id", ondelete="CASCADE"), nullable=False),
        sa.Column("district_code", sa.String(8), nullable=False),
        sa.Column("ordinal", sa.Integer, nullable=False),
    )
    op.create_index("ix_cooperative_villages_cooperative", "cooperative_villages", ["cooperative_id", "ordinal"])
    op.create_index("ix_cooperative_villages_district", "cooperative_villages", ["district_code", "cooperative_id"])
    op.create_foreign_key("fk_participants_cooperative", "participants", "cooperatives",
                          ["cooperative_id"], ["id"], postgresql_not_valid=True)


def downgrade() -> None:
    op.drop_constraint("fk_participants_cooperative", "participants", type_="foreignkey")
    op.drop_table("cooperative_villages")
    op.drop_table("cooperatives")
