"""Use cases of the registration service; callable from nameko, a test or a command line alike."""
from __future__ import annotations

import hmac
import uuid
from datetime import date, datetime, timezone
from typing import Any

from bimtek_shared.contracts.caller import Caller, require_caller, require_role
from bimtek_shared.contracts.envelope import EventEnvelope
from bimtek_shared.contracts.errors import DomainError
from bimtek_shared.contracts.ids import parse_id
from bimtek_shared.contracts.events import (
    ParticipantErasedV1, ParticipantImportRequestedV1, ParticipantRegisteredV1, ParticipantSubstitutedV1,
    ParticipantUpdatedV1, ParticipantWithdrawnV1,
)
from bimtek_shared.contracts.jobs import JobStatus, JobView
from bimtek_shared.contracts.pagination import SortOrder, decode_cursor, page_of

from ..domain import model
from ..domain.regions import RegionDirectory
from . import participant_progress
from .access import cooperative_of, may_see_cooperative
from .commands import (
    AuthenticateParticipant, ListAuditLog, ListParticipantImports, ListParticipants, ListPage, ParticipantChanges,
    RegisterParticipant, Replacement, RevealNik, StartParticipantImport, WithdrawParticipant, parse_command,
)
from .unit_of_work import RegistrationUnitOfWork

IMPORT_CHUNK = 200  # rows per transaction: progress is visible, and a crash repeats at most one chunk
# What each list may be sorted by (the type of the sorted value), and its order when none is asked.
PARTICIPANT_SORTS: dict[str, type] = {"registered_at": datetime, "full_name": str}
PARTICIPANT_DEFAULT_SORT = "registered_at"
IMPORT_SORTS: dict[str, type] = {"created_at": datetime}
IMPORT_DEFAULT_SORT = "-created_at"  # newest first
AUDIT_SORTS: dict[str, type] = {"at": datetime}
AUDIT_DEFAULT_SORT = "-at"  # newest first
EXPORTED_AUDIT_RECORDS = 1000  # of a person's audit trail in their data export, oldest first

# Who may change participants, and who may see a NIK in full, export or erase a person's data and
# read the audit trail. The gateway checks roles too; these use cases do not rely on it.
WRITERS = frozenset({"province_admin", "regency_admin", "operator"})
DATA_PROTECTORS = frozenset({"province_admin", "regency_admin"})


class Audited:
    """What the audit trail records: every read or change of a person's data. A list is one
    record (with its size and filters), not one per participant shown."""

    REGISTER = "register"
    IMPORT = "import"
    READ = "read"
    LIST = "list"
    UPDATE = "update"
    WITHDRAW = "withdraw"
    SUBSTITUTE = "substitute"
    REVEAL_NIK = "reveal_nik"
    EXPORT = "export"
    ERASE = "erase"


def register_participant(
    uow: RegistrationUnitOfWork, caller: Caller | None, command: RegisterParticipant
) -> dict[str, Any]:
    caller = require_caller(caller)
    if not caller.may_access(command.regency):
        raise DomainError("regency_out_of_scope")
    with uow:
        participant = model.register(**command.model_dump(), regions=uow.regions.directory(),
                                     id=caller.new_id("participant"))
        earlier = uow.participants.get(participant.id, regency=None)
        if earlier is not None:  # a retry of a registration that committed (see Caller.new_id)
            return {**_public(earlier), "warnings": participant.warnings}
        view = _add_participant(uow, participant)
        uow.audit.record(caller, Audited.REGISTER, participant_id=participant.id, regency=participant.regency)
        uow.commit()
    return {**_public(view), "warnings": participant.warnings}


def _add_participant(uow: RegistrationUnitOfWork, participant: model.Participant) -> dict[str, Any]:
    """Store a participant and announce it, in the caller's transaction; returns it as stored."""
    assert participant.nik is not None
    if uow.participants.exists_with_nik(participant.nik):
        raise DomainError("participant_already_registered")
    _check_cooperative_and_position(uow, participant)
    view = uow.participants.add(participant)
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
    return view


def _check_cooperative_and_position(uow: RegistrationUnitOfWork, participant: model.Participant) -> None:
    """A participant's cooperative is one of their own regency (the foreign key only says it
    exists), and a position one person holds is not held by another of its active participants
    (the unique index uq_participants_single_holder decides between concurrent writes)."""
    if participant.cooperative_id is None:
        return
    if not uow.cooperatives.exists(participant.cooperative_id, participant.regency):
        raise DomainError("cooperative_not_found")
    if participant.holds_alone:
        assert participant.position is not None
        model.check_position_free(participant, uow.participants.holder_of(participant.cooperative_id,
                                                                           participant.position))


def get_participant(uow: RegistrationUnitOfWork, caller: Caller | None, participant_id: str) -> dict[str, Any]:
    """The participant (NIK masked) with their progress as scheduling and certificates last
    reported it (``participant_progress``)."""
    caller = require_caller(caller)
    pid = parse_id(participant_id, "participant_not_found")
    with uow:
        uow.autocommit()  # one read, then its audit record: committed before the answer leaves
        view = uow.participants.get(pid, regency=caller.regency_scope, with_progress=True)
        if view is None or not may_see_cooperative(caller, view["cooperative_id"]) \
                or (caller.role == "participant" and caller.user != str(pid)):
            # The same answer for "not there", "another regency's" and "someone else's" (a participant
            # reads only themselves): existence is not disclosed.
            raise DomainError("participant_not_found")
        uow.audit.record(caller, Audited.READ, participant_id=pid, regency=view["regency"])
        uow.commit()
    return {"participant": _public(view), **participant_progress.progress_of(view)}


def list_participants(uow: RegistrationUnitOfWork, caller: Caller | None, query: ListParticipants) -> dict[str, Any]:
    """A page of the participants the caller may see: their regency (a province administrator:
    every regency, or the one asked for), and only their cooperative if they are tied to one."""
    caller = require_caller(caller)
    if query.regency is not None and not caller.may_access(query.regency):
        raise DomainError("regency_out_of_scope")  # refused rather than answered empty: the caller asked wrongly
    cooperative = cooperative_of(caller)
    if cooperative is not None and query.cooperative_id not in (None, cooperative):
        raise DomainError("forbidden")
    positions = None
    if query.position_group is not None or query.position is not None:
        positions = [position for position, group in model.POSITIONS.items()
                     if query.position_group in (None, group.value) and query.position in (None, position)]
    order, after = _page_position(uow, query, PARTICIPANT_SORTS, PARTICIPANT_DEFAULT_SORT)
    regency = query.regency or caller.regency_scope
    with uow:
        uow.autocommit()  # one read, then its audit record: committed before the answer leaves
        rows = uow.participants.list_page(
            regency=regency, cooperative_id=cooperative or query.cooperative_id,
            positions=positions, registered_since=query.registered_since, registered_until=query.registered_until,
            order=order, after=after, limit=query.limit + 1, status=query.status,
        )
        items, next_cursor = page_of(rows, query.limit, order, lambda row: (row[order.field], row["id"]),
                                     uow.cursor_sealer)
        filters = query.model_dump(mode="json", exclude={"limit", "cursor"}, exclude_none=True)
        uow.audit.record(caller, Audited.LIST, regency=regency, details={"count": len(items), "filters": filters})
        uow.commit()
    return {"items": [_public(row) for row in items], "next_cursor": next_cursor, "limit": query.limit}


def _page_position(uow: RegistrationUnitOfWork, query: ListPage, sorts: dict[str, type],
                   default_sort: str) -> tuple[SortOrder, tuple | None]:
    """The order a list is asked in and the sort key its page starts after (None: the first page)."""
    order = SortOrder.parse(query.sort or default_sort, list(sorts))
    if query.cursor is None:
        return order, None
    return order, decode_cursor(query.cursor, order, (sorts[order.field], uuid.UUID), uow.cursor_sealer)


# -- a participant's life: changes, withdrawal, substitution ---------------------------------
def update_participant(uow: RegistrationUnitOfWork, caller: Caller | None, participant_id: str,
                       changes: ParticipantChanges) -> dict[str, Any]:
    """Change the fields sent of an active participant: name, phone, position, cooperative (one of
    the same regency), or a correction of NIK, sex and birth date together. Announced with
    ``participant.updated`` when anything changed."""
    caller = require_role(caller, WRITERS)
    wanted = changes.model_dump(include=changes.model_fields_set)
    with uow:
        participant = _load_for_change(uow, caller, participant_id)
        changed = model.change(participant, wanted, uow.regions.directory())
        if changed:
            assert participant.nik is not None
            if "nik" in changed and uow.participants.exists_with_nik(participant.nik, excluding=participant.id):
                raise DomainError("participant_already_registered")
            if "cooperative_id" in changed or "position" in changed:
                _check_cooperative_and_position(uow, participant)
            uow.participants.save(participant, changed)
            uow.emit("participant.updated",
                     ParticipantUpdatedV1(**_state(participant), changed=changed, updated_at=participant.updated_at),
                     regency=participant.regency, aggregate_id=participant.id)
        uow.audit.record(caller, Audited.UPDATE, participant_id=participant.id, regency=participant.regency,
                         details={"changed": changed})
        uow.commit()
        view = uow.participants.get(participant.id, regency=None)
    return {**_public(view), "warnings": participant.warnings}


def withdraw_participant(uow: RegistrationUnitOfWork, caller: Caller | None, participant_id: str,
                         command: WithdrawParticipant) -> dict[str, Any]:
    """Take an active participant off their team, for one of ``model.WITHDRAWAL_REASONS``. The row
    stays (history); their position is free again. Announced with ``participant.withdrawn``."""
    caller = require_role(caller, WRITERS)
    with uow:
        participant = _load_for_change(uow, caller, participant_id)
        model.withdraw(participant, command.reason)
        uow.participants.save(participant)
        _emit_withdrawn(uow, participant)
        uow.audit.record(caller, Audited.WITHDRAW, participant_id=participant.id, regency=participant.regency,
                         details={"reason": command.reason})
        uow.commit()
        view = uow.participants.get(participant.id, regency=None)
    return _public(view)


def substitute_participant(uow: RegistrationUnitOfWork, caller: Caller | None, participant_id: str,
                           person: Replacement) -> dict[str, Any]:
    """A new person takes an active participant's place in the same cooperative and position, in
    one transaction: the one replaced is withdrawn (reason ``substituted``), the new one registered,
    and each names the other, so a chain A -> B -> C keeps every link. Emits, in this order,
    ``participant.withdrawn``, ``participant.registered`` and ``participant.substituted``."""
    caller = require_role(caller, WRITERS)
    with uow:
        replaced = _load_for_change(uow, caller, participant_id)
        replacement = model.substitute(replaced, **person.model_dump(), regions=uow.regions.directory())
        uow.participants.save(replaced)  # first: it frees the position the replacement takes
        _emit_withdrawn(uow, replaced)
        _add_participant(uow, replacement)
        uow.emit("participant.substituted", ParticipantSubstitutedV1(
            replaced_participant_id=replaced.id, replacement_participant_id=replacement.id,
            cooperative_id=replaced.cooperative_id, position_group=replacement.position_group.value,
            position=replacement.position, substituted_at=replaced.updated_at,
        ), regency=replaced.regency, aggregate_id=replaced.id)
        uow.audit.record(caller, Audited.SUBSTITUTE, participant_id=replaced.id, regency=replaced.regency,
                         details={"replacement": str(replacement.id)})
        uow.audit.record(caller, Audited.REGISTER, participant_id=replacement.id, regency=replacement.regency,
                         details={"replaces": str(replaced.id)})
        uow.commit()
        replaced_view = uow.participants.get(replaced.id, regency=None)
        replacement_view = uow.participants.get(replacement.id, regency=None)
    return {"replaced": _public(replaced_view),
            "replacement": {**_public(replacement_view), "warnings": replacement.warnings}}


def _load_for_change(uow: RegistrationUnitOfWork, caller: Caller, participant_id: str) -> model.Participant:
    """The participant, locked until the transaction ends, if the caller's regency holds it."""
    pid = parse_id(participant_id, "participant_not_found")
    participant = uow.participants.load(pid, caller.regency_scope, lock=True)
    if participant is None:
        raise DomainError("participant_not_found")
    return participant


def _emit_withdrawn(uow: RegistrationUnitOfWork, participant: model.Participant) -> None:
    assert participant.withdrawn_at is not None
    uow.emit("participant.withdrawn", ParticipantWithdrawnV1(
        **_state(participant), reason=participant.withdrawal_reason, replaced_by=participant.replaced_by,
        withdrawn_at=participant.withdrawn_at,
    ), regency=participant.regency, aggregate_id=participant.id)


def _state(participant: model.Participant) -> dict[str, Any]:
    """What every participant event after registration says of them: never the NIK."""
    assert participant.position_group is not None
    return {"participant_id": participant.id, "version": participant.version, "full_name": participant.full_name,
            "sex": participant.sex, "position_group": participant.position_group.value,
            "position": participant.position, "cooperative_id": participant.cooperative_id,
            "registered_at": participant.registered_at}


# -- personal data (UU PDP): reveal, export, erase, and the audit trail ------------------------
def reveal_participant_nik(uow: RegistrationUnitOfWork, caller: Caller | None, participant_id: str,
                           command: RevealNik) -> dict[str, Any]:
    """The whole NIK, for an administrator who says why; recorded in the audit trail with the reason."""
    caller = require_role(caller, DATA_PROTECTORS)
    pid = parse_id(participant_id, "participant_not_found")
    with uow:
        data = uow.participants.personal_data(pid, caller.regency_scope)
        if data is None:
            raise DomainError("participant_not_found")
        if data["nik"] is None:
            raise DomainError("participant_erased")
        uow.audit.record(caller, Audited.REVEAL_NIK, participant_id=pid, regency=data["regency"],
                         purpose=command.purpose)
        uow.commit()
    return {"participant_id": str(pid), "nik": data["nik"]}


def export_participant_data(uow: RegistrationUnitOfWork, caller: Caller | None, participant_id: str) -> dict[str, Any]:
    """Everything registration holds about a person, the NIK in full, for a data subject's request:
    their record, who replaced whom, and the audit trail of who read or changed it. Audited."""
    caller = require_role(caller, DATA_PROTECTORS)
    pid = parse_id(participant_id, "participant_not_found")
    with uow:
        data = uow.participants.personal_data(pid, caller.regency_scope)
        if data is None:
            raise DomainError("participant_not_found")
        uow.audit.record(caller, Audited.EXPORT, participant_id=pid, regency=data["regency"])
        trail = uow.audit.list_page(regency=None, participant_id=pid, action=None,
                                    order=SortOrder("at"), after=None, limit=EXPORTED_AUDIT_RECORDS)
        uow.commit()
    return {
        "participant": {**_public(data), "nik": data["nik"]},
        "audit_trail": [_audit_view(row) for row in trail],
        # Copies elsewhere, named so the request can be answered in full: none holds a NIK.
        "held_by_other_services": {
            "scheduling": "participant id, regency, cooperative, position group, scheduling status",
            "certificates": "participant id, regency, name and position (for certificates), cooperative, status",
        },
        "exported_at": datetime.now(timezone.utc).isoformat(),
    }


def erase_participant(uow: RegistrationUnitOfWork, caller: Caller | None, participant_id: str) -> dict[str, Any]:
    """Erase a person's data at their request: every personal field, and the NIK's lookup hash (the
    NIK could register again). Id, regency, cooperative, position group, times and links stay, so
    counts stay right and an issued certificate stays verifiable. An active participant leaves
    their team. Announced with ``participant.erased``: every service drops what it holds."""
    caller = require_role(caller, DATA_PROTECTORS)
    with uow:
        participant = _load_for_change(uow, caller, participant_id)
        model.erase(participant)
        uow.participants.erase(participant)
        assert participant.position_group is not None and participant.erased_at is not None
        uow.emit("participant.erased", ParticipantErasedV1(
            participant_id=participant.id, version=participant.version,
            position_group=participant.position_group.value, cooperative_id=participant.cooperative_id,
            registered_at=participant.registered_at, erased_at=participant.erased_at,
        ), regency=participant.regency, aggregate_id=participant.id)
        uow.audit.record(caller, Audited.ERASE, participant_id=participant.id, regency=participant.regency)
        uow.commit()
        view = uow.participants.get(participant.id, regency=None)
    return _public(view)


def list_audit_log(uow: RegistrationUnitOfWork, caller: Caller | None, query: ListAuditLog) -> dict[str, Any]:
    """A page of the audit trail, newest first: the caller's regency (a province administrator:
    every record, or one regency's), optionally one participant's or one action's."""
    caller = require_role(caller, DATA_PROTECTORS)
    if query.regency is not None and not caller.may_access(query.regency):
        raise DomainError("regency_out_of_scope")
    order = SortOrder.parse(query.sort or AUDIT_DEFAULT_SORT, list(AUDIT_SORTS))
    after = decode_cursor(query.cursor, order, (datetime, int)) if query.cursor is not None else None
    with uow:
        rows = uow.audit.list_page(regency=query.regency or caller.regency_scope, participant_id=query.participant_id,
                                   action=query.action, order=order, after=after, limit=query.limit + 1)
    items, next_cursor = page_of(rows, query.limit, order, lambda row: (row["at"], row["id"]))
    return {"items": [_audit_view(row) for row in items], "next_cursor": next_cursor, "limit": query.limit}


def _audit_view(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "at": row["at"].isoformat(), "actor_user": row["actor_user"],
            "actor_role": row["actor_role"], "action": row["action"], "participant_id": _str(row["participant_id"]),
            "regency": row["regency"], "purpose": row["purpose"], "correlation_id": row["correlation_id"],
            "details": row["details"]}


# -- signing in -------------------------------------------------------------------------------
# Compared when no participant holds the code, so an unknown code costs what a wrong date costs.
_NO_BIRTH_DATE = date(1900, 1, 1)


def authenticate_participant(uow: RegistrationUnitOfWork, command: AuthenticateParticipant) -> dict[str, Any]:
    """The participant holding this code, if the date of birth matches.

    The one use case with no caller, on purpose: it is how a participant gets signed in. So it
    answers only what an access token needs (no name, no NIK), and fails the same way, after the
    same work, whether the code is unknown or the date is wrong.
    """
    with uow:
        found = uow.participants.find_by_code(model.normalise_participant_code(command.participant_code))
    stored = found["birth_date"] if found else _NO_BIRTH_DATE
    date_matches = hmac.compare_digest(stored.isoformat(), command.birth_date.isoformat())
    if found is None or not date_matches:
        raise DomainError("invalid_credentials")
    return {
        "participant_id": str(found["id"]),
        "regency": found["regency"],
        "cooperative_id": str(found["cooperative_id"]) if found["cooperative_id"] else None,
    }


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
        uow.audit.record(caller, Audited.IMPORT, regency=command.regency,
                         details={"job_id": str(job_id), "rows": len(command.rows)})
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
            regions = uow.regions.directory()  # once per chunk, never per row
            for row_number, row in rows:
                _import_row(uow, job, row_number, row, regions)
            uow.imports.record_progress(job_id, finished=len(rows) < IMPORT_CHUNK)
            uow.commit()
            if len(rows) < IMPORT_CHUNK:
                return True


def _import_row(uow: RegistrationUnitOfWork, job: dict[str, Any], row_number: int, row: dict[str, Any],
                regions: RegionDirectory) -> None:
    assert uow.session is not None
    try:
        with uow.session.begin_nested():  # a refused row leaves no trace but its error
            command = parse_command(RegisterParticipant, {**row, "regency": job["regency"]})
            participant = model.register(**command.model_dump(), regions=regions)
            _add_participant(uow, participant)
    except DomainError as error:
        uow.imports.mark_row(job["id"], row_number, error_code=error.code, error_params=error.params)
    else:
        uow.imports.mark_row(job["id"], row_number, participant_id=participant.id, warnings=participant.warnings)


def get_participant_import(uow: RegistrationUnitOfWork, caller: Caller | None, job_id: str) -> dict[str, Any]:
    caller = require_caller(caller)
    jid = parse_id(job_id, "job_not_found")
    with uow:
        job = uow.imports.get(jid, regency=caller.regency_scope)
    if job is None or not may_see_cooperative(caller, None):  # a bulk registration is no cooperative's own
        raise DomainError("job_not_found")
    return _job_view(job)


def list_participant_imports(uow: RegistrationUnitOfWork, caller: Caller | None,
                             query: ListParticipantImports) -> dict[str, Any]:
    """A page of the caller's own bulk registrations (in their regency), newest first by default."""
    caller = require_caller(caller)
    order, after = _page_position(uow, query, IMPORT_SORTS, IMPORT_DEFAULT_SORT)
    with uow:
        rows = uow.imports.list_page(requested_by=caller.user, regency=caller.regency_scope, order=order,
                                     after=after, limit=query.limit + 1)
    items, next_cursor = page_of(rows, query.limit, order, lambda row: (row[order.field], row["id"]),
                                 uow.cursor_sealer)
    return {"items": [_job_summary(row) for row in items], "next_cursor": next_cursor, "limit": query.limit}


# -- views -----------------------------------------------------------------------------------
def _job_view(job: dict[str, Any]) -> dict[str, Any]:
    return JobView.model_validate(job).model_dump(mode="json")


def _job_summary(job: dict[str, Any]) -> dict[str, Any]:
    """A job in a list: its counts without its errors."""
    return {
        "id": str(job["id"]),
        "kind": job["kind"],
        "regency": job["regency"],
        "status": job["status"],
        "total": job["total"],
        "done": job["done"],
        "failed": job["failed"],
        "created_at": job["created_at"].isoformat(),
        "finished_at": job["finished_at"].isoformat() if job["finished_at"] else None,
    }


def _public(view: dict[str, Any]) -> dict[str, Any]:
    """A participant as responses show it: the NIK masked; an erased one without personal fields."""
    erased = view["status"] == model.ParticipantStatus.ERASED.value
    return {
        "id": str(view["id"]),
        "regency": view["regency"],
        "participant_code": view["participant_code"],
        "nik_masked": view["nik_masked"],
        "full_name": None if erased else view["full_name"],  # stored empty once erased
        "sex": view["sex"],
        "birth_date": _iso(view["birth_date"]),
        "phone": view["phone"],
        "position": view["position"],
        "position_group": view["position_group"],
        "cooperative_id": _str(view["cooperative_id"]),
        "registered_at": view["registered_at"].isoformat(),
        "status": view["status"],
        "replaces": _str(view["replaces"]),
        "replaced_by": _str(view["replaced_by"]),
        "withdrawn_at": _iso(view["withdrawn_at"]),
        "withdrawal_reason": view["withdrawal_reason"],
        "erased_at": _iso(view["erased_at"]),
        "updated_at": view["updated_at"].isoformat(),
    }


def _str(value: Any) -> str | None:
    return str(value) if value is not None else None


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
