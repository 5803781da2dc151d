"""Certificate numbers counted per (regency, year), not per (regency, programme, year): the number
(`0001/BIMTEK-KDMP/35.17/2026`) does not name the programme, so two programmes of one regency
and year each gave out 0001. The counter of each (regency, year) goes on from the highest
sequence any of its programmes reached, so no number given from now on repeats an old one.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Keep one row per (regency, year): the one with the highest sequence.
    op.execute("DELETE FROM certificate_counters c USING certificate_counters d "
               "WHERE c.regency = d.regency AND c.year = d.year "
               "AND (c.last_sequence, c.programme_id) < (d.last_sequence, d.programme_id)")
    op.drop_constraint("certificate_counters_pkey", "certificate_counters", type_="primary")
    op.drop_column("certificate_counters", "programme_id")
    op.create_primary_key("certificate_counters_pkey", "certificate_counters", ["regency", "year"])


def downgrade() -> None:
    # Each programme's counter starts again after the highest number of its regency and year.
    op.drop_constraint("certificate_counters_pkey", "certificate_counters", type_="primary")
    op.add_column("certificate_counters", sa.Column("programme_id", sa.Uuid, nullable=True))
    op.execute("INSERT INTO certificate_counters (regency, year, programme_id, last_sequence) "
               "SELECT DISTINCT c.regency, c.year, c.programme_id, k.last_sequence FROM certificates c "
               "JOIN certificate_counters k ON k.regency = c.regency AND k.year = c.year")
    op.execute("DELETE FROM certificate_counters WHERE programme_id IS NULL")
    op.alter_column("certificate_counters", "programme_id", nullable=False)
    op.create_primary_key("certificate_counters_pkey", "certificate_counters", ["regency", "programme_id", "year"])
