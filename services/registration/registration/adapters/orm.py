from __future__ import annotations

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

from bimtek_shared.persistence.job_tables import define_jobs_table
from bimtek_shared.persistence.messaging_tables import define_messaging_tables

metadata = MetaData()
messaging = define_messaging_tables(metadata)
jobs = define_jobs_table(metadata)

participants = Table(
    "participants",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("regency", String(5), nullable=False),
    Column("participant_code", String(16), nullable=False, unique=True),
    # The NIK only ever leaves the process encrypted (AES-GCM); lookups use a keyed hash, since a
    # plain hash of 16 digits that encode region, birth date and sex is easy to reverse.
    Column("nik_ciphertext", LargeBinary, nullable=False),
    Column("nik_lookup", LargeBinary(32), nullable=False, unique=True),
    Column("nik_masked", String(16), nullable=False),
    Column("full_name", String(200), nullable=False),
    Column("sex", String(1), nullable=False),
    Column("birth_date", Date, nullable=False),
    Column("phone", String(20), nullable=True),
    Column("position", String(40), nullable=False),
    Column("cooperative_id", Uuid, nullable=True),
    Column("registered_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_participants_regency_registered", "regency", "registered_at", "id"),
)

# The rows of a bulk registration waiting to be processed. Each row is encrypted (it holds a NIK)
# and erased once processed: only the outcome stays.
import_rows = Table(
    "import_rows",
    metadata,
    Column("job_id", Uuid, ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
    Column("row_number", Integer, primary_key=True),
    Column("sealed_row", LargeBinary, nullable=True),
    Column("status", String(10), nullable=False),  # pending, done, failed
    Column("participant_id", Uuid, nullable=True),
    Column("error_code", String(60), nullable=True),
    Column("error_params", JSONB, nullable=True),
)
