"""Storage of bulk registrations (jobs of kind ``participant_import``) and their rows."""
from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from bimtek_shared.contracts.jobs import JobStatus
from bimtek_shared.persistence.job_tables import MAX_REPORTED_ERRORS

from .nik_protector import NikProtector
from .orm import import_rows, jobs

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
                 error_code: str | None = None, error_params: dict[str, Any] | None = None) -> None:
        self._session.execute(
            update(import_rows)
            .where(import_rows.c.job_id == job_id, import_rows.c.row_number == row_number)
            .values(status="failed" if error_code else "done", sealed_row=None, participant_id=participant_id,
                    error_code=error_code, error_params=error_params)
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
            values["result"] = {"registered": counts[0], "failed": counts[1]}
        self._session.execute(update(jobs).where(jobs.c.id == job_id).values(**values))

    def get(self, job_id: uuid.UUID, regency: str | None) -> dict[str, Any] | None:
        query = select(jobs).where(jobs.c.id == job_id, jobs.c.kind == IMPORT_KIND)
        if regency is not None:
            query = query.where(jobs.c.regency == regency)
        row = self._session.execute(query).mappings().first()
        return dict(row) if row else None
