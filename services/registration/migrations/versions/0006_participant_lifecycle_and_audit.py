"""A participant's life (active, withdrawn, erased; substitution links; a version per change), one
active holder per single-holder position of a cooperative, and the audit trail of personal data.

Personal fields become nullable: an erased participant keeps only what counts (id, regency,
cooperative, position group, timestamps, links). ``position_group`` is stored, because the position
itself goes with the erasure. Existing rows are all active, at version 1.

The unique index on single-holder positions fails if active participants of one cooperative
already share such a position: withdraw one of them first.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

PERSONAL = ("participant_code", "nik_ciphertext", "nik_lookup", "nik_masked", "sex", "birth_date", "position")
SINGLE_HOLDER_WHERE = ("status = 'active' AND position IN ('ketua', 'wakil_ketua_usaha', 'wakil_ketua_keanggotaan', "
                       "'sekretaris', 'bendahara', 'ketua_pengawas')")


def upgrade() -> None:
    op.add_column("participants", sa.Column("position_group", sa.String(10), nullable=True))
    op.execute("UPDATE participants SET position_group = "
               "CASE WHEN position IN ('ketua_pengawas', 'anggota_pengawas') THEN 'pengawas' ELSE 'pengurus' END")
    op.alter_column("participants", "position_group", nullable=False)
    op.add_column("participants", sa.Column("status", sa.String(10), nullable=False, server_default="active"))
    op.add_column("participants", sa.Column("version", sa.Integer, nullable=False, server_default="1"))
    op.add_column("participants", sa.Column("replaces", sa.Uuid, nullable=True))
    op.add_column("participants", sa.Column("replaced_by", sa.Uuid, nullable=True))
    op.add_column("participants", sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("participants", sa.Column("withdrawal_reason", sa.String(30), nullable=True))
    op.add_column("participants", sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("participants", sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True,
                                            server_default=sa.func.now()))
    op.execute("UPDATE participants SET updated_at = registered_at")
    op.alter_column("participants", "updated_at", nullable=False)
    op.create_foreign_key("fk_participants_replaces", "participants", "participants", ["replaces"], ["id"])
    # Checked at commit: a substitution names the replacement before inserting it.
    op.create_foreign_key("fk_participants_replaced_by", "participants", "participants", ["replaced_by"], ["id"],
                          deferrable=True, initially="DEFERRED")
    op.create_unique_constraint("participants_replaces_key", "participants", ["replaces"])
    op.create_unique_constraint("participants_replaced_by_key", "participants", ["replaced_by"])
    for column in PERSONAL:
        op.alter_column("participants", column, nullable=True)
    op.create_check_constraint("ck_participants_status", "participants", "status IN ('active', 'withdrawn', 'erased')")
    op.create_check_constraint(
        "ck_participants_erased", "participants",
        "CASE WHEN status = 'erased' THEN participant_code IS NULL AND nik_ciphertext IS NULL AND nik_lookup IS NULL "
        "AND nik_masked IS NULL AND full_name = '' AND sex IS NULL AND birth_date IS NULL AND phone IS NULL "
        "AND position IS NULL "
        "ELSE participant_code IS NOT NULL AND nik_ciphertext IS NOT NULL AND nik_lookup IS NOT NULL "
        "AND nik_masked IS NOT NULL AND sex IS NOT NULL AND birth_date IS NOT NULL AND position IS NOT NULL END",
    )
    op.create_index("uq_participants_single_holder", "participants", ["cooperative_id", "position"], unique=True,
                    postgresql_where=sa.text(SINGLE_HOLDER_WHERE))

    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("actor_user", sa.String(100), nullable=False),
        sa.Column("actor_role", sa.String(30), nullable=False),
        sa.Column("action", sa.String(30), nullable=False),
        sa.Column("participant_id", sa.Uuid, nullable=True),
        sa.Column("regency", sa.String(5), nullable=True),
        sa.Column("purpose", sa.String(500), nullable=True),
        sa.Column("correlation_id", sa.String(200), nullable=False),
        sa.Column("details", JSONB, nullable=True),
    )
    op.create_index("ix_audit_log_regency_at", "audit_log", ["regency", "at", "id"])
    op.create_index("ix_audit_log_at", "audit_log", ["at", "id"])
    op.create_index("ix_audit_log_participant_at", "audit_log", ["participant_id", "at", "id"])


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_index("uq_participants_single_holder", table_name="participants")
    op.drop_constraint("ck_participants_erased", "participants")
    op.drop_constraint("ck_participants_status", "participants")
    op.drop_constraint("participants_replaced_by_key", "participants")
    op.drop_constraint("participants_replaces_key", "participants")
    op.drop_constraint("fk_participants_replaced_by", "participants")
    op.drop_constraint("fk_participants_replaces", "participants")
    # Erased rows cannot go back to the old shape, whose personal fields were required.
    op.execute("DELETE FROM participants WHERE status = 'erased'")
    for column in PERSONAL:
        op.alter_column("participants", column, nullable=False)
    for column in ("updated_at", "erased_at", "withdrawal_reason", "withdrawn_at", "replaced_by", "replaces",
                   "version", "status", "position_group"):
        op.drop_column("participants", column)
