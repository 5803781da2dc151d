from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
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
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from bimtek_shared.persistence.job_tables import define_jobs_table
from bimtek_shared.persistence.messaging_tables import define_messaging_tables

from ..domain.model import SINGLE_HOLDER_POSITIONS

metadata = MetaData()
messaging = define_messaging_tables(metadata)
jobs = define_jobs_table(metadata)

# The rows the single-holder rule applies to: active participants in a position one person holds.
SINGLE_HOLDER_WHERE = "status = 'active' AND position IN (%s)" % ", ".join(f"'{p}'" for p in SINGLE_HOLDER_POSITIONS)

participants = Table(
    "participants",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("regency", String(5), nullable=False),
    # Personal fields are NULL once erased (migration 0006), the name then "" (ERASED_NAME) so that
    # name-ordered pages keep working; ck_participants_erased says which is which.
    Column("participant_code", String(16), nullable=True, unique=True),
    # The NIK only ever leaves the process encrypted (AES-GCM, led by the id of its key); lookups use
    # a keyed hash, since a plain hash of 16 digits that encode region, birth date and sex is easy
    # to reverse.
    Column("nik_ciphertext", LargeBinary, nullable=True),
    Column("nik_lookup", LargeBinary(32), nullable=True, unique=True),
    Column("nik_masked", String(16), nullable=True),
    Column("full_name", String(200), nullable=False),
    Column("sex", String(1), nullable=True),
    Column("birth_date", Date, nullable=True),
    Column("phone", String(20), nullable=True),
    Column("position", String(40), nullable=True),
    Column("position_group", String(10), nullable=False),
    # Checked for new rows only (migration 0005 adds it NOT VALID: older rows may name cooperatives
    # registered before this table existed).
    Column("cooperative_id", Uuid, ForeignKey("cooperatives.id", name="fk_participants_cooperative"), nullable=True),
    Column("registered_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # A participant's life (migration 0006): active, withdrawn (kept for history) or erased.
    Column("status", String(10), nullable=False, server_default="active"),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("replaces", Uuid, ForeignKey("participants.id", name="fk_participants_replaces"), nullable=True,
           unique=True),
    # Checked at commit: a substitution names the replacement before inserting it.
    Column("replaced_by", Uuid, ForeignKey("participants.id", name="fk_participants_replaced_by", deferrable=True,
                                           initially="DEFERRED"), nullable=True, unique=True),
    Column("withdrawn_at", DateTime(timezone=True), nullable=True),
    Column("withdrawal_reason", String(30), nullable=True),
    Column("erased_at", DateTime(timezone=True), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("status IN ('active', 'withdrawn', 'erased')", name="ck_participants_status"),
    CheckConstraint(
        "CASE WHEN status = 'erased' THEN participant_code IS NULL AND nik_ciphertext IS NULL AND nik_lookup IS NULL "
        "AND nik_masked IS NULL AND full_name = '' AND sex IS NULL AND birth_date IS NULL AND phone IS NULL "
        "AND position IS NULL "
        "ELSE participant_code IS NOT NULL AND nik_ciphertext IS NOT NULL AND nik_lookup IS NOT NULL "
        "AND nik_masked IS NOT NULL AND sex IS NOT NULL AND birth_date IS NOT NULL AND position IS NOT NULL END",
        name="ck_participants_erased",
    ),
    # Every list order has an index, so a page is an index range read whatever the table's size
    # (migration 0003): within a regency, province-wide, and within a cooperative.
    Index("ix_participants_regency_registered", "regency", "registered_at", "id"),
    Index("ix_participants_regency_name", "regency", "full_name", "id"),
    Index("ix_participants_registered", "registered_at", "id"),
    Index("ix_participants_name", "full_name", "id"),
    Index("ix_participants_cooperative_registered", "cooperative_id", "registered_at", "id"),
    # The cooperative statistics and progress counts read a regency's teams from this index alone
    # (migration 0008).
    Index("ix_participants_regency_team", "regency", postgresql_include=["cooperative_id", "position", "status"]),
    # One active holder of each single-holder position per cooperative, whatever two concurrent
    # registrations or changes try (migration 0006).
    Index("uq_participants_single_holder", "cooperative_id", "position", unique=True,
          postgresql_where=text(SINGLE_HOLDER_WHERE)),
)
# A caller's own bulk registrations, newest first.
Index("ix_jobs_requested_by_created", jobs.c.requested_by, jobs.c.created_at, jobs.c.id)

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
    Column("warnings", JSONB, nullable=True),  # codes of a registered row's warnings (migration 0004)
)


# -- region reference data (migration 0004): official names and codes only, no personal data ----
# Codes are the keys (dotted Kemendagri codes); names are refreshed by each load. A row missing
# from a later load is kept with ``retired_at`` set, never deleted: something may refer to it,
# and a NIK keeps the kecamatan it was first issued in.
provinces = Table(
    "provinces",
    metadata,
    Column("code", String(2), primary_key=True),
    Column("name", String(100), nullable=False),
)

regencies = Table(
    "regencies",
    metadata,
    Column("code", String(5), primary_key=True),
    Column("province_code", String(2), ForeignKey("provinces.code"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("retired_at", DateTime(timezone=True), nullable=True),
    CheckConstraint("kind IN ('kabupaten', 'kota')", name="ck_regencies_kind"),
)

districts = Table(
    "districts",
    metadata,
    Column("code", String(8), primary_key=True),
    Column("regency_code", String(5), ForeignKey("regencies.code"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("retired_at", DateTime(timezone=True), nullable=True),
)

villages = Table(
    "villages",
    metadata,
    Column("code", String(13), primary_key=True),
    Column("district_code", String(8), ForeignKey("districts.code"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("retired_at", DateTime(timezone=True), nullable=True),
    CheckConstraint("kind IN ('desa', 'kelurahan')", name="ck_villages_kind"),
)

# Which provinces are loaded, from what and when: one row per province, replaced by each load.
region_loads = Table(
    "region_loads",
    metadata,
    Column("province_code", String(2), ForeignKey("provinces.code"), primary_key=True),
    Column("source", String(500), nullable=False),
    Column("files_sha256", String(64), nullable=False),
    Column("regencies", Integer, nullable=False),
    Column("districts", Integer, nullable=False),
    Column("villages", Integer, nullable=False),
    Column("changes", JSONB, nullable=False),  # what the load changed: counts of added, renamed, retired ...
    Column("loaded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)


# -- cooperatives (migration 0005) ----------------------------------------------------------------
cooperatives = Table(
    "cooperatives",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("regency", String(5), ForeignKey("regencies.code"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("legal_entity_number", String(80), nullable=True),
    Column("contact_phone", String(20), nullable=True),
    Column("contact_email", String(254), nullable=True),
    Column("version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # The list orders (name, or creation), within a regency and province-wide.
    Index("ix_cooperatives_regency_name", "regency", "name", "id"),
    Index("ix_cooperatives_regency_created", "regency", "created_at", "id"),
    Index("ix_cooperatives_name", "name", "id"),
    Index("ix_cooperatives_created", "created_at", "id"),
)

# The villages a cooperative serves. The village code is the key: a village is served by at most
# one cooperative, whatever two concurrent registrations try.
cooperative_villages = Table(
    "cooperative_villages",
    metadata,
    Column("village_code", String(13), ForeignKey("villages.code"), primary_key=True),
    Column("cooperative_id", Uuid, ForeignKey("cooperatives.id", ondelete="CASCADE"), nullable=False),
    Column("district_code", String(8), nullable=False),  # the village's kecamatan, for filters and statistics
    Column("ordinal", Integer, nullable=False),  # the order given; the first village names the cooperative
    Index("ix_cooperative_villages_cooperative", "cooperative_id", "ordinal"),
    Index("ix_cooperative_villages_district", "district_code", "cooperative_id"),
)


# -- the audit trail of personal data (migration 0006) ---------------------------------------------
# Who read or changed whose personal data, when, why (for a NIK reveal) and in which request. Ids
# only: never a NIK, a name or anything else the rows are about. Never updated; kept after erasure.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("actor_user", String(100), nullable=False),
    Column("actor_role", String(30), nullable=False),
    Column("action", String(30), nullable=False),
    Column("participant_id", Uuid, nullable=True),  # none for a list
    Column("regency", String(5), nullable=True),  # the participant's, or the one listed; none: province-wide
    Column("purpose", String(500), nullable=True),
    Column("correlation_id", String(200), nullable=False),
    Column("details", JSONB, nullable=True),  # ids and counts, e.g. the fields changed or a list's size
    Index("ix_audit_log_regency_at", "regency", "at", "id"),
    Index("ix_audit_log_at", "at", "id"),
    Index("ix_audit_log_participant_at", "participant_id", "at", "id"),
)


# -- bulk import from a file (migration 0007) -------------------------------------------------------
# The uploaded file of an import job: sealed (it holds NIKs) until its rows are checked, then erased;
# its SHA-256 stays, so the same file uploaded again into the same scope is recognised.
import_files = Table(
    "import_files",
    metadata,
    Column("job_id", Uuid, ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
    Column("scope", String(5), nullable=False),  # a regency code, or the province's for a province-wide file
    Column("sha256", String(64), nullable=False),
    Column("file_format", String(4), nullable=False),  # csv, xlsx
    Column("dry_run", Boolean, nullable=False),
    Column("import_valid_rows_only", Boolean, nullable=False),
    Column("sealed_file", LargeBinary, nullable=True),
    Index("ix_import_files_scope_sha256", "scope", "sha256"),
)

# The checked rows of an import waiting to be registered, a chunk per record (sealed: NIKs); each
# is deleted in the transaction that registers it, so what is left is exactly what is still to do.
import_chunks = Table(
    "import_chunks",
    metadata,
    Column("job_id", Uuid, ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
    Column("chunk_number", Integer, primary_key=True),
    Column("sealed_rows", LargeBinary, nullable=False),
)


# -- a participant's progress as the other services report it (migration 0009) ----------------------
# A read model fed by scheduling's and certificates' events, so that a participant and their
# progress are one read here rather than a call to each service. Ids, dates, numbers and a venue's
# name only: nothing personal.
progress_sessions = Table(
    "progress_sessions",
    metadata,
    Column("session_id", Uuid, primary_key=True),
    Column("programme_id", Uuid, nullable=False),
    Column("number", Integer, nullable=False),
    Column("days", ARRAY(Date), nullable=False),
    Column("venue_id", Uuid, nullable=False),
    Column("venue_name", String(200), nullable=True),
    Column("cancelled", Boolean, nullable=False),
    Column("version", Integer, nullable=False),  # the session event's; only a higher one replaces a row
)

progress_seats = Table(
    "progress_seats",
    metadata,
    Column("participant_id", Uuid, primary_key=True),
    Column("programme_id", Uuid, primary_key=True),
    Column("session_id", Uuid, nullable=True),  # none: unseated by that revision (migration 0010)
    Column("revision", Integer, nullable=False),  # the plan revision that placed or unseated them; the highest wins
)

progress_certificates = Table(
    "progress_certificates",
    metadata,
    Column("participant_id", Uuid, primary_key=True),
    Column("programme_id", Uuid, primary_key=True),
    Column("number", String(100), nullable=False),
    Column("version", Integer, nullable=False),  # the newest version's number and status win
    Column("status", String(10), nullable=False),  # valid or revoked
)
