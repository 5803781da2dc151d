"""Use cases of bulk import from a CSV or XLSX file: accept it as a job, check every row, then
register the checked rows a chunk per transaction, announcing each chunk with one batch event.

The job runs in three steps, each safe to repeat after a crash:

1. ``start_file_import`` (RPC): the file is sealed into the job with its SHA-256; the same file
   uploaded again into the same scope answers with the first job and imports nothing.
2. The check (the job's consumer): the file is read and every row checked (in a worker process:
   it is CPU work), then against the database (NIKs registered, positions held). A dry run ends
   here with its report; so does an import with a bad row, unless only the valid rows were asked
   for. Otherwise, in the same transaction, the villages without a cooperative get one, and the
   rows to register are stored in sealed chunks. The file itself is erased.
3. The chunks: each is taken (deleted), registered with multi-row inserts and announced with one
   ``participants.imported`` event per regency, in one transaction, until none is left.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from bimtek_shared.contracts.caller import PROVINCE_WIDE, Caller, require_caller
from bimtek_shared.contracts.errors import DomainError
from bimtek_shared.contracts.events import (
    CooperativeRegisteredV1, ImportedParticipant, ParticipantImportRequestedV1, ParticipantsImportedV1,
)
from bimtek_shared.contracts.envelope import EventEnvelope, new_event
from bimtek_shared.contracts.jobs import JobStatus, JobView
from bimtek_shared.persistence.job_tables import MAX_REPORTED_ERRORS

from ..adapters import spreadsheets
from ..adapters.regions import RegionIndex
from ..domain import bulk_import
from ..domain import cooperatives as cooperative_rules
from ..domain.bulk_import import CheckedFile, CheckedRow, RowError, SheetProblem
from ..domain.cooperatives import Village
from ..domain.model import Participant, new_participant_code
from . import handlers
from .commands import MAX_IMPORT_FILE_BYTES, StartFileImport
from .unit_of_work import RegistrationUnitOfWork

CHUNK_ROWS = 2_500  # rows per transaction and per event: a province (68,000) is 28 chunks
WRITERS = frozenset({"province_admin", "regency_admin", "operator"})
MAX_CODE_ATTEMPTS = 3

CpuRun = Callable[..., Any]  # CpuRunner.run: fn(*args) computed in a worker process


# -- 1. accepting the file ---------------------------------------------------------------------------
def start_file_import(uow: RegistrationUnitOfWork, caller: Caller | None, command: StartFileImport,
                      province: str) -> dict[str, Any]:
    """The job for an uploaded file; ``already_uploaded``: the same file went into the same scope
    before (not as a dry run, not refused), and that first job is the answer."""
    caller = require_caller(caller)
    if caller.role not in WRITERS:
        raise DomainError("forbidden")
    scope = command.regency or (province if caller.regency == PROVINCE_WIDE else caller.regency)
    if not caller.may_access(scope):
        raise DomainError("regency_out_of_scope")
    try:
        content = base64.b64decode(command.content_base64, validate=True)
    except (binascii.Error, ValueError):
        raise DomainError("validation_failed", {"errors": [{"field": "file", "message": "not base64"}]}) from None
    if len(content) > MAX_IMPORT_FILE_BYTES:
        raise DomainError("payload_too_large", {"limit": MAX_IMPORT_FILE_BYTES})
    file_format = spreadsheets.file_format_of(command.file_name, content)
    if file_format is None:
        raise DomainError("import_file_format_unsupported")
    sha256 = hashlib.sha256(content).hexdigest()
    with uow:
        uow.file_imports.lock_scope_and_file(scope, sha256)
        earlier = None if command.dry_run else uow.file_imports.earlier_upload(scope, sha256)
        if earlier is not None:
            return {"job": job_view(earlier), "already_uploaded": True}
        job_id = uuid.uuid4()
        uow.file_imports.create(job_id=job_id, scope=scope, requested_by=caller.user, sha256=sha256,
                                file_format=file_format, content=content, dry_run=command.dry_run,
                                import_valid_rows_only=command.import_valid_rows_only)
        uow.emit("participant_import.requested", ParticipantImportRequestedV1(job_id=job_id, total=0),
                 regency=tenant_of(scope), aggregate_id=job_id)
        uow.commit()
        job = uow.imports.get(job_id, regency=None)
    return {"job": job_view(job), "already_uploaded": False}


def template(caller: Caller | None, file_format: str) -> dict[str, Any]:
    """The empty import file (headings, an example row; in XLSX also the accepted positions)."""
    caller = require_caller(caller)
    if caller.role not in WRITERS:
        raise DomainError("forbidden")
    if file_format not in spreadsheets.FORMATS:
        raise DomainError("import_file_format_unsupported")
    return {"file_name": f"templat-impor-peserta.{file_format}",
            "content_base64": base64.b64encode(spreadsheets.template(file_format)).decode("ascii")}


def tenant_of(scope: str) -> str:
    """The regency an envelope names for a job in ``scope``: a province-wide file names none, so
    its own events carry ``<province>.00`` (no regency has the code 00)."""
    return scope if "." in scope else f"{scope}.00"


def job_view(job: dict[str, Any]) -> dict[str, Any]:
    return JobView.model_validate(job).model_dump(mode="json")


# -- 2. checking every row ---------------------------------------------------------------------------
@dataclass
class Decision:
    rows: list[CheckedRow]  # to register
    errors: list[RowError]
    total: int


def check_file(content: bytes, file_format: str, scope: str, villages: dict[str, Village], regions: RegionIndex,
               today: date) -> CheckedFile:
    """Read and check a file's rows alone (no database): runs in a CpuPool worker process."""
    try:
        headings, rows = spreadsheets.read_sheet(content, file_format)
        return bulk_import.check_rows(headings, rows, scope=scope, villages=villages, regions=regions, today=today)
    except SheetProblem as problem:
        return CheckedFile(total=0, rows=[], errors=problem.errors)


def run_import(uow: RegistrationUnitOfWork, cpu_run: CpuRun, event: EventEnvelope) -> bool:
    """The job a ``participant_import.requested`` event asks for: from a file, or from JSON rows."""
    job_id = ParticipantImportRequestedV1.model_validate(event.payload).job_id
    with uow:
        from_file = uow.file_imports.is_file_import(job_id)
    if not from_file:
        return handlers.run_participant_import(uow, event)
    return run_file_import(uow, cpu_run, job_id)


def run_file_import(uow: RegistrationUnitOfWork, cpu_run: CpuRun, job_id: uuid.UUID) -> bool:
    """Advance an import from a file until it is finished; False if it already was."""
    with uow:
        job = uow.imports.lock_job(job_id)
        if job is None or job["status"] in (JobStatus.SUCCEEDED.value, JobStatus.FAILED.value):
            return False
        if job["status"] == JobStatus.QUEUED.value:  # not checked yet, or a crash lost the check
            _check(uow, cpu_run, job)
            uow.commit()
    while _register_next_chunk(uow, job_id):
        pass
    return True


def _check(uow: RegistrationUnitOfWork, cpu_run: CpuRun, job: dict[str, Any]) -> None:
    upload = uow.file_imports.upload(job["id"])
    assert upload is not None and upload["content"] is not None, "a queued file import keeps its file"
    scope = upload["scope"]
    known, served = uow.file_imports.villages_in(scope)
    checked: CheckedFile = cpu_run(check_file, upload["content"], upload["file_format"], scope, known,
                                   uow.regions.directory(), date.today())
    uow.file_imports.erase_file(job["id"])
    if checked.total == 0:  # the file as a whole was refused
        _finish(uow, job["id"], JobStatus.FAILED, total=0, done=0, errors=checked.errors,
                result={"imported": 0, "refused": "file"})
        return
    registered = uow.file_imports.registered_niks([row.nik for row in checked.rows])
    cooperative_ids = sorted({served[row.village] for row in checked.rows if row.village in served})
    passed, cross_errors = bulk_import.cross_check(
        checked.rows, registered_niks=registered, cooperative_of_village=served,
        positions_held=uow.file_imports.positions_held(cooperative_ids))
    errors = sorted(checked.errors + cross_errors)
    invalid_rows = len({error.row for error in errors})
    new_villages = list(dict.fromkeys(row.village for row in passed if row.village not in served))
    warnings = [{"item": row.row, "codes": row.warnings} for row in passed if row.warnings][:MAX_REPORTED_ERRORS]
    summary = {"valid_rows": len(passed), "invalid_rows": invalid_rows, "warnings": warnings}
    if upload["dry_run"]:
        _finish(uow, job["id"], JobStatus.SUCCEEDED, total=checked.total, done=0, errors=errors,
                result={**summary, "dry_run": True, "cooperatives_to_create": len(new_villages)})
        return
    if errors and not upload["import_valid_rows_only"]:
        _finish(uow, job["id"], JobStatus.FAILED, total=checked.total, done=0, errors=errors,
                result={**summary, "imported": 0, "refused": "invalid_rows"})
        return
    cooperative_of_village = {**served, **_create_cooperatives(uow, passed, new_villages, known)}
    chunks = [[_stored_row(row, cooperative_of_village[row.village]) for row in passed[start:start + CHUNK_ROWS]]
              for start in range(0, len(passed), CHUNK_ROWS)]
    uow.file_imports.store_chunks(job["id"], chunks)
    uow.file_imports.update_job(
        job["id"], status=JobStatus.RUNNING.value, total=checked.total, failed=invalid_rows,
        errors=[error.to_dict() for error in errors[:MAX_REPORTED_ERRORS]],
        result={**summary, "cooperatives_created": len(new_villages), "imported": 0})


def _create_cooperatives(uow: RegistrationUnitOfWork, rows: list[CheckedRow], village_codes: list[str],
                         known: dict[str, Village]) -> dict[str, uuid.UUID]:
    """A cooperative for each village no cooperative serves yet (named by the file's first
    ``nama_koperasi`` for it, else by default), announced as ``cooperative.registered``."""
    names: dict[str, str | None] = {}
    for row in rows:
        if row.cooperative_name and not names.get(row.village):
            names[row.village] = row.cooperative_name
    created = [cooperative_rules.register_cooperative(regency=known[code].regency, villages=[code],
                                                      known_villages=known, name=names.get(code))
               for code in village_codes]
    uow.cooperatives.add_many(created, known)
    place_names = uow.cooperatives.place_names(created, known)
    uow.add_to_outbox([
        (new_event("cooperative.registered", CooperativeRegisteredV1(
            cooperative_id=c.id, name=c.name, villages=c.villages, districts=c.districts(known), version=c.version,
            registered_at=c.created_at, **place_names[c.id]), regency=c.regency, correlation_id=uow.correlation_id),
         c.id)
        for c in created])
    return {c.villages[0]: c.id for c in created}


def _stored_row(row: CheckedRow, cooperative_id: uuid.UUID) -> dict[str, Any]:
    return {"row": row.row, "regency": row.regency, "village": row.village, "nik": row.nik, "full_name": row.full_name, "sex": row.sex,
            "birth_date": row.birth_date.isoformat(), "phone": row.phone, "position": row.position,
            "cooperative_id": str(cooperative_id)}


def _finish(uow: RegistrationUnitOfWork, job_id: uuid.UUID, status: JobStatus, *, total: int, done: int,
            errors: list[RowError], result: dict[str, Any]) -> None:
    uow.file_imports.update_job(
        job_id, status=status.value, total=total, done=done, failed=len({error.row for error in errors}),
        errors=[error.to_dict() for error in errors[:MAX_REPORTED_ERRORS]], result=result)


# -- 3. registering the checked rows -----------------------------------------------------------------
def _register_next_chunk(uow: RegistrationUnitOfWork, job_id: uuid.UUID) -> bool:
    """Register one chunk in one transaction; False once there is none left (the job finished)."""
    with uow:
        job = uow.imports.lock_job(job_id)
        if job is None or job["status"] != JobStatus.RUNNING.value:
            return False
        rows = uow.file_imports.take_chunk(job_id)
        result = dict(job["result"] or {})
        if rows is None:
            uow.file_imports.update_job(job_id, status=JobStatus.SUCCEEDED.value, result=result)
            uow.commit()
            return False
        registered, refused = _register(uow, rows)
        _announce(uow, job_id, registered)
        errors = list(job["errors"]) + [error.to_dict() for error in refused]
        result["imported"] = result.get("imported", 0) + len(registered)
        uow.file_imports.update_job(job_id, done=job["done"] + len(registered), failed=job["failed"] + len(refused),
                                    errors=sorted(errors, key=lambda e: e["item"])[:MAX_REPORTED_ERRORS],
                                    result=result)
        uow.commit()
        return True


def _register(uow: RegistrationUnitOfWork, rows: list[dict[str, Any]]) -> tuple[list[Participant], list[RowError]]:
    """Insert a chunk's participants. A row whose NIK was registered, or whose position was taken,
    since the check is refused; a participant code that happened to be taken gets a new one."""
    now = datetime.now(timezone.utc)
    pending = {row["row"]: row for row in rows}
    registered: list[Participant] = []
    refused: list[RowError] = []
    attempts = 0
    while pending:
        attempts += 1
        if attempts > MAX_CODE_ATTEMPTS:
            raise RuntimeError("participant codes kept colliding")  # the event is retried
        participants = {number: _participant(row, now) for number, row in pending.items()}
        inserted = uow.file_imports.add_participants(list(participants.values()))
        registered += [p for p in participants.values() if p.id in inserted]
        pending = {number: row for number, row in pending.items() if participants[number].id not in inserted}
        if not pending:
            break
        taken = uow.file_imports.registered_niks([row["nik"] for row in pending.values()])
        # One query for the positions held in every cooperative concerned, not one per row.
        held = uow.file_imports.positions_held(sorted({uuid.UUID(row["cooperative_id"]) for row in pending.values()
                                                       if row["position"] in cooperative_rules.SINGLE_HOLDER}))
        for number, row in list(pending.items()):
            if row["nik"] in taken:
                refused.append(bulk_import.row_error(number, "nik", "participant_already_registered"))
                del pending[number]
            elif row["position"] in cooperative_rules.SINGLE_HOLDER:
                if row["position"] in held.get(uuid.UUID(row["cooperative_id"]), set()):
                    refused.append(bulk_import.row_error(
                        number, "jabatan", "import_position_held",
                        title=cooperative_rules.POSITION_TITLES[row["position"]], village=row["village"]))
                    del pending[number]
    return registered, refused


def _participant(row: dict[str, Any], now: datetime) -> Participant:
    """A checked row as a participant (every rule of ``model.register`` was checked already)."""
    return Participant(
        id=uuid.uuid4(), regency=row["regency"], participant_code=new_participant_code(), nik=row["nik"],
        full_name=row["full_name"], sex=row["sex"], birth_date=date.fromisoformat(row["birth_date"]),
        position=row["position"], phone=row["phone"], cooperative_id=uuid.UUID(row["cooperative_id"]),
        registered_at=now,
    )


def _announce(uow: RegistrationUnitOfWork, job_id: uuid.UUID, registered: list[Participant]) -> None:
    """One ``participants.imported`` event per regency of the chunk."""
    by_regency: dict[str, list[ImportedParticipant]] = defaultdict(list)
    for p in registered:
        by_regency[p.regency].append(ImportedParticipant(
            participant_id=p.id, full_name=p.full_name, sex=p.sex, position_group=p.position_group.value,
            position=p.position, cooperative_id=p.cooperative_id, registered_at=p.registered_at))
    for regency, participants in by_regency.items():
        uow.emit("participants.imported", ParticipantsImportedV1(job_id=job_id, participants=participants),
                 regency=regency)
