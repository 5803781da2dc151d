"""Use cases of the registration service; callable from nameko, a test or a command line alike."""
from __future__ import annotations

import uuid
from typing import Any

from bimtek_shared.contracts.caller import Caller, require_caller
from bimtek_shared.contracts.envelope import EventEnvelope
from bimtek_shared.contracts.errors import DomainError
from bimtek_shared.contracts.ids import parse_id
from bimtek_shared.contracts.events import ParticipantImportRequestedV1, ParticipantRegisteredV1
from bimtek_shared.contracts.jobs import JobStatus, JobView

from ..domain import model
from .commands import RegisterParticipant, StartParticipantImport, parse_command
from .unit_of_work import RegistrationUnitOfWork

IMPORT_CHUNK = 200  # rows per transaction: progress is visible, and a crash repeats at most one chunk


def register_participant(
    uow: RegistrationUnitOfWork, caller: Caller | None, command: RegisterParticipant
) -> dict[str, Any]:
    caller = require_caller(caller)
    if not caller.may_access(command.regency):
        raise DomainError("regency_out_of_scope")
    participant = model.register(**command.model_dump())
    with uow:
        _add_participant(uow, participant)
        uow.commit()
        view = uow.participants.get(participant.id, regency=None)
    return {**_public(view), "warnings": participant.warnings}


def _add_participant(uow: RegistrationUnitOfWork, participant: model.Participant) -> None:
    """Store a participant and announce it, in the caller's transaction."""
    if uow.participants.exists_with_nik(participant.nik):
        raise DomainError("participant_already_registered")
    uow.participants.add(participant)
    uow.emit(
        "participant.registered",
        ParticipantRegisteredV1(
            participant_id=participant.id,
            participant_code=participant.participant_code,
            full_name=participant.full_name,
            sex=participant.sex,
            position_group=participant.position_group.value,
            position=participant.position,
            cooperative_id=participant.cooperative_id,
            registered_at=participant.registered_at,
        ),
        regency=participant.regency,
        aggregate_id=participant.id,
    )


def get_participant(uow: RegistrationUnitOfWork, caller: Caller | None, participant_id: str) -> dict[str, Any]:
    caller = require_caller(caller)
    pid = parse_id(participant_id, "participant_not_found")
    with uow:
        view = uow.participants.get(pid, regency=caller.regency_scope)
    if view is None:
        # The same answer for "not there" and "another regency's": existence is not disclosed.
        raise DomainError("participant_not_found")
    return _public(view)


# -- bulk registration as a job --------------------------------------------------------------
def start_participant_import(
    uow: RegistrationUnitOfWork, caller: Caller | None, command: StartParticipantImport
) -> dict[str, Any]:
    """Accept a bulk registration as a job; the rows are registered by ``run_participant_import``."""
    caller = require_caller(caller)
    if not caller.may_access(command.regency):
        raise DomainError("regency_out_of_scope")
    job_id = uuid.uuid4()
    with uow:
        uow.imports.create(job_id=job_id, regency=command.regency, requested_by=caller.user, rows=command.rows)
        uow.emit("participant_import.requested", ParticipantImportRequestedV1(job_id=job_id, total=len(command.rows)),
                 regency=command.regency, aggregate_id=job_id)
        uow.commit()
        job = uow.imports.get(job_id, regency=None)
    return _job_view(job)


def run_participant_import(uow: RegistrationUnitOfWork, event: EventEnvelope) -> bool:
    """Register the rows of an import, a chunk per transaction, until none is pending.

    Safe to run twice or concurrently: the job row is locked for each chunk and only pending rows
    are taken, so a redelivered request finds the work done (or continues where a crash left it).
    """
    job_id = ParticipantImportRequestedV1.model_validate(event.payload).job_id
    while True:
        with uow:
            job = uow.imports.lock_job(job_id)
            if job is None or job["status"] in (JobStatus.SUCCEEDED.value, JobStatus.FAILED.value):
                return False
            rows = uow.imports.pending_rows(job_id, IMPORT_CHUNK)
            for row_number, row in rows:
                _import_row(uow, job, row_number, row)
            uow.imports.record_progress(job_id, finished=len(rows) < IMPORT_CHUNK)
            uow.commit()
            if len(rows) < IMPORT_CHUNK:
                return True


def _import_row(uow: RegistrationUnitOfWork, job: dict[str, Any], row_number: int, row: dict[str, Any]) -> None:
    assert uow.session is not None
    try:
        with uow.session.begin_nested():  # a refused row leaves no trace but its error
            command = parse_command(RegisterParticipant, {**row, "regency": job["regency"]})
            participant = model.register(**command.model_dump())
            _add_participant(uow, participant)
    except DomainError as error:
        uow.imports.mark_row(job["id"], row_number, error_code=error.code, error_params=error.params)
    else:
        uow.imports.mark_row(job["id"], row_number, participant_id=participant.id)


def get_participant_import(uow: RegistrationUnitOfWork, caller: Caller | None, job_id: str) -> dict[str, Any]:
    caller = require_caller(caller)
    jid = parse_id(job_id, "job_not_found")
    with uow:
        job = uow.imports.get(jid, regency=caller.regency_scope)
    if job is None:
        raise DomainError("job_not_found")
    return _job_view(job)


# -- views -----------------------------------------------------------------------------------
def _job_view(job: dict[str, Any]) -> dict[str, Any]:
    return JobView.model_validate(job).model_dump(mode="json")


def _public(view: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(view["id"]),
        "regency": view["regency"],
        "participant_code": view["participant_code"],
        "nik_masked": view["nik_masked"],
        "full_name": view["full_name"],
        "sex": view["sex"],
        "birth_date": view["birth_date"].isoformat(),
        "phone": view["phone"],
        "position": view["position"],
        "position_group": model.POSITIONS[view["position"]].value,
        "cooperative_id": str(view["cooperative_id"]) if view["cooperative_id"] else None,
        "registered_at": view["registered_at"].isoformat(),
    }
