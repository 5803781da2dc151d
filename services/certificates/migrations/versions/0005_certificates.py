"""Certificates: one per participant and programme (versions for re-issues), the per-(regency,
programme, year) number counters, and each certificate's history.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "certificates",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("public_id", sa.String(32), nullable=False, unique=True),
        sa.Column("number", sa.String(100), nullable=False),
        sa.Column("sequence", sa.Integer, nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("participant_id", sa.Uuid, nullable=False),
        sa.Column("programme_id", sa.Uuid, nullable=False),
        sa.Column("session_id", sa.Uuid, nullable=False),
        sa.Column("cooperative_id", sa.Uuid, nullable=True),
        sa.Column("position_group", sa.String(10), nullable=False),
        sa.Column("regency", sa.String(5), nullable=False),
        sa.Column("programme_title", sa.String(200), nullable=False),
        sa.Column("session_days", ARRAY(sa.Date), nullable=False),
        sa.Column("days_attended", sa.Integer, nullable=False),
        sa.Column("jp_total", sa.Integer, nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("printed_name", sa.String(200), nullable=True),
        sa.Column("printed_position", sa.String(40), nullable=True),
        sa.Column("key_id", sa.Integer, nullable=False),
        sa.Column("signature", sa.String(100), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_reason", sa.String(500), nullable=True),
        sa.Column("revoked_by", sa.String(64), nullable=True),
        sa.Column("superseded_by", sa.Uuid, nullable=True),
        sa.Column("replaces", sa.Uuid, nullable=True),
        sa.UniqueConstraint("participant_id", "programme_id", "version", name="uq_certificates_participant_programme"),
    )
    op.create_index("ix_certificates_regency", "certificates", ["regency"])
    op.create_table(
        "certificate_counters",
        sa.Column("regency", sa.String(5), primary_key=True),
        sa.Column("programme_id", sa.Uuid, primary_key=True),
        sa.Column("year", sa.Integer, primary_key=True),
        sa.Column("last_sequence", sa.Integer, nullable=False),
    )
    op.create_table(
        "certificate_history",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("certificate_id", sa.Uuid, nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("actor", sa.String(64), nullable=True),
        sa.Column("reason", sa.String(500), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index("ix_certificate_history_certificate_id", "certificate_history", ["certificate_id"])


def downgrade() -> None:
    op.drop_table("certificate_history")
    op.drop_table("certificate_counters")
    op.drop_table("certificates")
