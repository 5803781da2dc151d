"""Storage of bulk registrations (jobs of kind ``participant_import``) and their rows."""
from __future__ import annotations

import base64
import json
import uuid
from typing import Any

from sqlalchemy import delete, func, insert, null, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from bimtek_shared.contracts.jobs import JobStatus
from bimtek_shared.contracts.pagination import SortOrder
from bimtek_shared.persistence.job_tables import MAX_REPORTED_ERRORS

from ..domain.cooperatives import Village
from ..domain.model import Participant
from ..domain.nik import mask_nik
from .nik_protector import NikProtector
from .orm import cooperative_villages, import_chunks, import_files, import_rows, jobs, participants, villages

IMPORT_KIND = "participant_import"


class ImportRepository:
    def __init__(self, session: Session, protector: NikProtector) -> None:
        self._session = session
        self._protector = protector

    def create(self, *, job_id: uuid.UUID, regency: str, requested_by: str, rows: list[dict[str, Any]]) -> None:
        self._session.execute(insert(jobs).values(
            id=job_id, kind=IMPORT_KIND, regency=regency, requested_by=requested_by,
            status=JobStatus.QUEUED.value, total=len(rows)))
        self._session.execute(insert(import_rows), [
            {"job_id": job_id, "row_number": number, "status": "pending",
             "sealed_row": self._protector.encrypt(json.dumps(row, default=str))}
            for number, row in enumerate(rows, start=1)
        ])

    def lock_job(self, job_id: uuid.UUID) -> dict[str, Any] | None:
        """The job, locked until the transaction ends: one worker advances a job at a time."""
        row = self._session.execute(select(jobs).where(jobs.c.id == job_id).with_for_update()).mappings().first()
        return dict(row) if row else None

    def pending_rows(self, job_id: uuid.UUID, limit: int) -> list[tuple[int, dict[str, Any]]]:
        rows = self._session.execute(
            select(import_rows.c.row_number, import_rows.c.sealed_row)
            .where(import_rows.c.job_id == job_id, import_rows.c.status == "pending")
            .order_by(import_rows.c.row_number).limit(limit)
        ).all()
        return [(r.row_number, json.loads(self._protector.decrypt(r.sealed_row))) for r in rows]

    def mark_row(self, job_id: uuid.UUID, row_number: int, *, participant_id: uuid.UUID | None = None,
                 error_code: str | None = None, error_params: dict[str, Any] | None = None,
                 warnings: list[str] | None = None) -> None:
        self._session.execute(
            update(import_rows)
            .where(import_rows.c.job_id == job_id, import_rows.c.row_number == row_number)
            .values(status="failed" if error_code else "done", sealed_row=None, participant_id=participant_id,
                    error_code=error_code, error_params=error_params,
                    warnings=warnings or null())  # SQL NULL, not JSON null: no warnings
        )

    def record_progress(self, job_id: uuid.UUID, *, finished: bool) -> None:
        counts = self._session.execute(
            select(
                func.count().filter(import_rows.c.status == "done"),
                func.count().filter(import_rows.c.status == "failed"),
            ).where(import_rows.c.job_id == job_id)
        ).one()
        errors = [
            {"item": r.row_number, "code": r.error_code, "params": r.error_params or {}}
            for r in self._session.execute(
                select(import_rows.c.row_number, import_rows.c.error_code, import_rows.c.error_params)
                .where(import_rows.c.job_id == job_id, import_rows.c.status == "failed")
                .order_by(import_rows.c.row_number).limit(MAX_REPORTED_ERRORS)
            )
        ]
        values: dict[str, Any] = {"done": counts[0], "failed": counts[1], "errors": errors, "updated_at": func.now(),
                                  "status": (JobStatus.SUCCEEDED if finished else JobStatus.RUNNING).value}
        if finished:
            values["finished_at"] = func.now()
            # Rows registered with warnings (e.g. a NIK from another regency): allowed, never silently.
            warnings = [
                {"item": r.row_number, "codes": r.warnings}
                for r in self._session.execute(
                    select(import_rows.c.row_number, import_rows.c.warnings)
                    .where(import_rows.c.job_id == job_id, import_rows.c.warnings.isnot(None))
                    .order_by(import_rows.c.row_number).limit(MAX_REPORTED_ERRORS)
                )
            ]
            values["result"] = {"registered": counts[0], "failed": counts[1], "warnings": warnings}
        self._session.execute(update(jobs).where(jobs.c.id == job_id).values(**values))

    def get(self, job_id: uuid.UUID, regency: str | None) -> dict[str, Any] | None:
        query = select(jobs).where(jobs.c.id == job_id, jobs.c.kind == IMPORT_KIND)
        if regency is not None:
            query = query.where(jobs.c.regency == regency)
        row = self._session.execute(query).mappings().first()
        return dict(row) if row else None

    def list_page(self, *, requested_by: str, regency: str | None, order: SortOrder, after: tuple | None,
                  limit: int) -> list[dict[str, Any]]:
        """One caller's bulk registrations in ``order`` after the sort key ``after``, without their
        errors (a job keeps up to a thousand; its own page shows them)."""
        sorted_by = jobs.c[order.field]
        query = select(jobs.c.id, jobs.c.kind, jobs.c.regency, jobs.c.status, jobs.c.total, jobs.c.done,
                       jobs.c.failed, jobs.c.created_at, jobs.c.finished_at
                       ).where(jobs.c.kind == IMPORT_KIND, jobs.c.requested_by == requested_by)
        if regency is not None:
            query = query.where(jobs.c.regency == regency)
        if after is not None:
            key = tuple_(sorted_by, jobs.c.id)
            query = query.where(key < after if order.descending else key > after)
        if order.descending:
            query = query.order_by(sorted_by.desc(), jobs.c.id.desc())
        else:
            query = query.order_by(sorted_by, jobs.c.id)
        return [dict(row) for row in self._session.execute(query.limit(limit)).mappings()]


class FileImportRepository:
    """Imports from a file: the sealed upload, the checked rows in chunks, and the bulk writes."""

    def __init__(self, session: Session, protector: NikProtector) -> None:
        self._session = session
        self._protector = protector

    # -- the upload ---------------------------------------------------------------------------
    def lock_scope_and_file(self, scope: str, sha256: str) -> None:
        """Serialise uploads of one file into one scope (until the transaction ends)."""
        self._session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"import:{scope}:{sha256}"))))

    def earlier_upload(self, scope: str, sha256: str) -> dict[str, Any] | None:
        """The first import (not a dry run, not refused) of the same file into the same scope."""
        row = self._session.execute(
            select(jobs).join(import_files, import_files.c.job_id == jobs.c.id)
            .where(import_files.c.scope == scope, import_files.c.sha256 == sha256,
                   import_files.c.dry_run.is_(False), jobs.c.status != JobStatus.FAILED.value)
            .order_by(jobs.c.created_at).limit(1)
        ).mappings().first()
        return dict(row) if row else None

    def create(self, *, job_id: uuid.UUID, scope: str, requested_by: str, sha256: str, file_format: str,
               content: bytes, dry_run: bool, import_valid_rows_only: bool) -> None:
        self._session.execute(insert(jobs).values(
            id=job_id, kind=IMPORT_KIND, regency=scope, requested_by=requested_by,
            status=JobStatus.QUEUED.value, total=0))
        self._session.execute(insert(import_files).values(
            job_id=job_id, scope=scope, sha256=sha256, file_format=file_format, dry_run=dry_run,
            import_valid_rows_only=import_valid_rows_only,
            sealed_file=self._protector.encrypt(base64.b64encode(content).decode("ascii"))))

    def is_file_import(self, job_id: uuid.UUID) -> bool:
        return self._session.execute(select(import_files.c.job_id).where(import_files.c.job_id == job_id)).first() \
            is not None

    def upload(self, job_id: uuid.UUID) -> dict[str, Any] | None:
        """The upload's options and, until its rows are checked, its content (``content``)."""
        row = self._session.execute(select(import_files).where(import_files.c.job_id == job_id)).mappings().first()
        if row is None:
            return None
        found = dict(row)
        sealed = found.pop("sealed_file")
        found["content"] = base64.b64decode(self._protector.decrypt(sealed)) if sealed is not None else None
        return found

    # -- what the check needs -----------------------------------------------------------------
    def villages_in(self, scope: str) -> tuple[dict[str, Village], dict[str, uuid.UUID]]:
        """The scope's villages (retired ones included), and the cooperative serving each served one."""
        rows = self._session.execute(
            select(villages.c.code, villages.c.district_code, villages.c.name, villages.c.kind,
                   villages.c.retired_at, cooperative_villages.c.cooperative_id)
            .outerjoin(cooperative_villages, cooperative_villages.c.village_code == villages.c.code)
            .where(villages.c.code.startswith(scope + "."))
        )
        known, served = {}, {}
        for row in rows:
            known[row.code] = Village(code=row.code, district=row.district_code, name=row.name, kind=row.kind,
                                      retired=row.retired_at is not None)
            if row.cooperative_id is not None:
                served[row.code] = row.cooperative_id
        return known, served

    def registered_niks(self, niks: list[str]) -> set[str]:
        """Which of these NIKs a participant holds already (by keyed hash, a query per 10,000)."""
        by_lookup = {self._protector.lookup_hash(nik): nik for nik in niks}
        lookups = list(by_lookup)
        found: set[str] = set()
        for start in range(0, len(lookups), 10_000):
            found.update(by_lookup[lookup] for lookup in self._session.scalars(
                select(participants.c.nik_lookup).where(participants.c.nik_lookup.in_(lookups[start:start + 10_000]))))
        return found

    def positions_held(self, cooperative_ids: list[uuid.UUID]) -> dict[uuid.UUID, set[str]]:
        """The positions active participants hold in each of these cooperatives."""
        held: dict[uuid.UUID, set[str]] = {}
        for start in range(0, len(cooperative_ids), 10_000):
            for cooperative_id, position in self._session.execute(
                select(participants.c.cooperative_id, participants.c.position).distinct()
                .where(participants.c.cooperative_id.in_(cooperative_ids[start:start + 10_000]),
                       participants.c.status == "active")
            ):
                held.setdefault(cooperative_id, set()).add(position)
        return held

    # -- the checked rows, a chunk at a time ---------------------------------------------------
    def store_chunks(self, job_id: uuid.UUID, chunks: list[list[dict[str, Any]]]) -> None:
        if chunks:
            self._session.execute(insert(import_chunks), [
                {"job_id": job_id, "chunk_number": number,
                 "sealed_rows": self._protector.encrypt(json.dumps(rows, default=str))}
                for number, rows in enumerate(chunks, start=1)])

    def take_chunk(self, job_id: uuid.UUID) -> list[dict[str, Any]] | None:
        """The next chunk's rows, deleted in this transaction (so registered at most once); None: done."""
        row = self._session.execute(
            delete(import_chunks).where(
                import_chunks.c.job_id == job_id,
                import_chunks.c.chunk_number == select(func.min(import_chunks.c.chunk_number))
                .where(import_chunks.c.job_id == job_id).scalar_subquery())
            .returning(import_chunks.c.sealed_rows)
        ).first()
        return json.loads(self._protector.decrypt(row.sealed_rows)) if row else None

    def add_participants(self, new: list[Participant]) -> set[uuid.UUID]:
        """Insert participants in multi-row statements; returns the ids inserted. A row that meets a
        unique key (its NIK, or a single-holder position, taken since the check) is skipped."""
        if not new:
            return set()
        statement = pg_insert(participants).on_conflict_do_nothing().returning(participants.c.id)
        return set(self._session.scalars(statement, [
            {"id": p.id, "regency": p.regency, "participant_code": p.participant_code,
             "nik_ciphertext": self._protector.encrypt(p.nik), "nik_lookup": self._protector.lookup_hash(p.nik),
             "nik_masked": mask_nik(p.nik), "full_name": p.full_name, "sex": p.sex, "birth_date": p.birth_date,
             "phone": p.phone, "position": p.position, "position_group": p.position_group.value,
             "cooperative_id": p.cooperative_id, "registered_at": p.registered_at, "updated_at": p.updated_at}
            for p in new]))

    # -- the job ---------------------------------------------------------------------------------
    def update_job(self, job_id: uuid.UUID, **values: Any) -> None:
        if values.get("status") in (JobStatus.SUCCEEDED.value, JobStatus.FAILED.value):
            values["finished_at"] = func.now()
        self._session.execute(update(jobs).where(jobs.c.id == job_id).values(**values, updated_at=func.now()))

    def erase_file(self, job_id: uuid.UUID) -> None:
        """Once its rows are checked, nothing of the file is kept but its hash."""
        self._session.execute(update(import_files).where(import_files.c.job_id == job_id).values(sealed_file=None))
