"""Use cases of attendance: a participant's invitation (data for the app, or a PDF), check-in
uploads from trainers' phones, attendance set by an operator, a session's attendance and its
paper sheet, and closing a session (who completed it).

- An invitation's QR code is a token this service signs (``adapters.invitation_tokens``): the
  participant's and the session's ids and when they were seated there, never a name or a NIK.
- A check-in upload is one transaction: signatures are verified in a ``CpuPool`` worker, each
  scan is judged (``domain.attendance.judge_scan``), the valid ones are kept by their nonce (an
  upload sent again answers ``duplicate`` and counts nothing twice) and each (participant,
  session, day) is counted once. What was counted goes out as one ``attendance.recorded`` per
  session. The first attendance of a session locks it: a re-plan must not move a session under way.
- Uploads hold the programme shared, closing and re-plans hold it alone: a session closes
  between two uploads, never in the middle of one, and after it closes its scans are refused.
"""
from __future__ import annotations

import base64
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from bimtek_shared.contracts.caller import Caller, require_caller, require_role
from bimtek_shared.contracts.envelope import EventEnvelope, new_event
from bimtek_shared.contracts.errors import DomainError
from bimtek_shared.contracts.events import AttendanceRecordedV1, ParticipantCompletedV1, SessionClosedV1
from bimtek_shared.contracts.ids import parse_id

from ..adapters import documents, invitation_tokens
from ..adapters.invitation_tokens import InvitationSigner
from ..domain.attendance import (
    ACCEPTED, DeviceScope, Outcome, QrClaims, ScanResult, SessionFacts, Verdict, checked_session, jakarta_day,
    judge_scan, outcomes,
)
from ..domain.model import SchedulingParticipant
from ..domain.programmes import TrainingProgramme
from .access import PLANNERS, READERS
from .commands import AttendanceByHand, AttendanceSheetQuery, CheckInScope, CheckInUpload, Scan
from .unit_of_work import SchedulingUnitOfWork

CpuRun = Callable[..., Any]  # CpuRunner.run: fn(*args) computed in a worker process
# A closed session's raw scans (which phone saw whom, when) are kept this long for questions about
# its attendance, then deleted: its attendance and outcomes stay, and after closing no scan of it
# is accepted, so no nonce is needed to spot a repeated upload.
SCANS_KEPT_AFTER_CLOSING = timedelta(days=90)
PURGE_BATCH = 1000
DEVICES = frozenset({"device"})
PARTICIPANT = "participant"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _pdf(content: bytes) -> dict[str, str]:
    return {"content_base64": base64.b64encode(content).decode("ascii")}


# -- invitations ----------------------------------------------------------------------------------
def _invited(uow: SchedulingUnitOfWork, caller: Caller | None,
             participant_id: str) -> tuple[SchedulingParticipant, list[dict[str, Any]]]:
    """The participant and their seats, for themselves or for their regency's staff."""
    caller = require_caller(caller)
    pid = parse_id(participant_id, "participant_not_found")
    if caller.role == PARTICIPANT:
        if caller.user != str(pid):
            raise DomainError("participant_not_found")  # the same answer as for nobody
    else:
        require_role(caller, READERS)
    participant = uow.participants.get(pid, regency=caller.regency_scope)
    if participant is None:
        raise DomainError("participant_not_found")
    seats = uow.attendance.invitations(pid)
    if not seats:
        raise DomainError("invitation_not_found")
    return participant, seats


def _invitation(seat: dict[str, Any], participant: SchedulingParticipant, signer: InvitationSigner) -> dict[str, Any]:
    return {
        "programme": {"id": str(seat["programme_id"]), "title": seat["programme_title"]},
        "session": {"id": str(seat["session_id"]), "number": seat["number"],
                    "days": [day.isoformat() for day in seat["days"]], "status": seat["status"]},
        "venue": {"id": str(seat["venue_id"]), "name": seat["venue_name"], "address": None},
        "participant": {"id": str(participant.participant_id), "full_name": participant.full_name,
                        "position": participant.position, "cooperative": seat["cooperative"]},
        "qr": signer.sign(participant.participant_id, seat["session_id"], seat["assigned_at"]),
        "issued_at": seat["assigned_at"].replace(microsecond=0).isoformat(),
    }


def get_invitation(uow: SchedulingUnitOfWork, caller: Caller | None, signer: InvitationSigner,
                   participant_id: str) -> dict[str, Any]:
    """One invitation per programme the participant is seated in: the session, its days, the venue
    and the QR code to show at check-in (the same code until a re-plan moves them)."""
    with uow:
        participant, seats = _invited(uow, caller, participant_id)
        return {"participant_id": str(participant.participant_id),
                "invitations": [_invitation(seat, participant, signer) for seat in seats]}


def get_invitation_pdf(uow: SchedulingUnitOfWork, caller: Caller | None, signer: InvitationSigner, cpu_run: CpuRun,
                       participant_id: str) -> dict[str, str]:
    """The invitations as a PDF, one A4 page each, rendered in a worker process."""
    with uow:
        participant, seats = _invited(uow, caller, participant_id)
        invitations = [_invitation(seat, participant, signer) for seat in seats]
    return _pdf(cpu_run(documents.render_invitations, invitations))


# -- check-ins ----------------------------------------------------------------------------------------
def check_in(uow: SchedulingUnitOfWork, caller: Caller | None, cpu_run: CpuRun, signer: InvitationSigner,
             scope: CheckInScope, upload: CheckInUpload) -> dict[str, Any]:
    """Judge and count a phone's upload of scans; one result per scan, in the order sent."""
    caller = require_role(caller, DEVICES)
    device = DeviceScope(regency=caller.regency, **scope.model_dump())
    scans = upload.scans
    claims: list[QrClaims | None] = cpu_run(invitation_tokens.verify_all, [scan.qr for scan in scans],
                                            signer.public_keys)
    now = _now()
    verdicts: list[Verdict | None] = [None] * len(scans)
    first_results: dict[int, str | None] = {}
    with uow:
        known = uow.attendance.known_nonces(scan.nonce for scan in scans)
        first_in_upload: dict[str, int] = {}
        fresh = []
        for index, scan in enumerate(scans):
            if scan.nonce in known or scan.nonce in first_in_upload:
                verdicts[index] = Verdict(ScanResult.DUPLICATE)
                first_results[index] = known.get(scan.nonce)
            else:
                first_in_upload[scan.nonce] = index
                fresh.append(index)

        targets = {index: checked_session(claims[index], scans[index].session_id, device)
                   for index in fresh if claims[index] is not None}
        sessions = uow.attendance.sessions(targets.values())
        uow.attendance.share_programmes(session.programme_id for session in sessions.values())
        sessions = uow.attendance.sessions(targets.values())  # as they stand now that no closure can run
        seated = uow.attendance.seated((claims[index].participant_id, target) for index, target in targets.items())
        for index in fresh:
            verdicts[index] = judge_scan(claims=claims[index], asked_session=scans[index].session_id,
                                         scanned_at=scans[index].scanned_at, scope=device, sessions=sessions,
                                         seated=seated, now=now)
        counted = _count(uow, caller, scans, claims, verdicts, fresh, now)
        late = [index for index in fresh if verdicts[index].result is ScanResult.DUPLICATE]
        taken = uow.attendance.known_nonces(scans[index].nonce for index in late)
        first_results.update({index: taken.get(scans[index].nonce) for index in late})
        _announce_scans(uow, caller, sessions, counted, now)
        uow.commit()

    for index, scan in enumerate(scans):  # a nonce twice in one upload: the second is the first's duplicate
        first = first_in_upload.get(scan.nonce)
        if first is not None and first != index:
            first_results[index] = verdicts[first].result.value
    results = []
    for index, scan in enumerate(scans):
        verdict = verdicts[index]
        item: dict[str, Any] = {"nonce": scan.nonce, "result": verdict.result.value,
                                "session_id": str(verdict.session_id) if verdict.session_id else None,
                                "day": verdict.day.isoformat() if verdict.day else None}
        if verdict.result is ScanResult.DUPLICATE:
            item["first_result"] = first_results.get(index)
        results.append(item)
    counts: dict[str, int] = defaultdict(int)
    for item in results:
        counts[item["result"]] += 1
    return {"results": results, "counts": dict(counts)}


def _count(uow: SchedulingUnitOfWork, caller: Caller, scans: list[Scan], claims: list[QrClaims | None],
           verdicts: list[Verdict | None], fresh: list[int], now: datetime) -> list[tuple[uuid.UUID, uuid.UUID, Any]]:
    """Keep the accepted scans by nonce and count their days; settles each accepted verdict to
    recorded, already_present or overruled_by_operator (or duplicate, if a concurrent upload of
    the same scans got there first). Returns the (session, participant, day) counted now."""
    accepted = [index for index in fresh if verdicts[index].result in ACCEPTED]
    claimed = uow.attendance.claim_nonces([
        {"nonce": scans[i].nonce, "device_id": caller.user, "session_id": verdicts[i].session_id,
         "participant_id": claims[i].participant_id, "day": verdicts[i].day, "scanned_at": scans[i].scanned_at,
         "result": ScanResult.RECORDED.value, "received_at": now} for i in accepted])
    lost = [i for i in accepted if scans[i].nonce not in claimed]
    for index in lost:
        verdicts[index] = Verdict(ScanResult.DUPLICATE)
    key_of = {i: (verdicts[i].session_id, claims[i].participant_id, verdicts[i].day)
              for i in accepted if scans[i].nonce in claimed}
    # The earliest scan of a day is the one counted; later ones of the same day find it counted.
    first_of_key: dict[tuple, int] = {}
    for index in sorted(key_of, key=lambda i: (scans[i].scanned_at, scans[i].nonce)):
        first_of_key.setdefault(key_of[index], index)
    counted = uow.attendance.add_present([
        {"session_id": key[0], "participant_id": key[1], "day": key[2], "present": True, "source": "scan",
         "recorded_by": caller.user, "reason": None, "scanned_at": scans[index].scanned_at, "recorded_at": now}
        for key, index in first_of_key.items()])
    standing = uow.attendance.presence(set(key_of.values()) - counted)
    settled: dict[str, str] = {}
    for index, key in key_of.items():
        if key in counted and first_of_key[key] == index:
            result = ScanResult.RECORDED
        elif key in counted or standing.get(key, True):
            result = ScanResult.ALREADY_PRESENT
        else:
            result = ScanResult.OVERRULED_BY_OPERATOR
        verdicts[index] = Verdict(result, verdicts[index].session_id, verdicts[index].day)
        if result is not ScanResult.RECORDED:
            settled[scans[index].nonce] = result.value
    uow.attendance.settle_scan_results(settled)
    return sorted(counted)


def _announce_scans(uow: SchedulingUnitOfWork, caller: Caller, sessions: dict[uuid.UUID, SessionFacts],
                    counted: list[tuple[uuid.UUID, uuid.UUID, Any]], at: datetime) -> None:
    """One ``attendance.recorded`` per session with the days counted now; their sessions lock."""
    by_session: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
    for session_id, participant_id, day in counted:
        by_session[session_id].append({"participant_id": participant_id, "day": day, "present": True})
    uow.attendance.fix_sessions(by_session, at)
    uow.add_to_outbox([_attendance_event(uow, sessions[session_id], records, source="check_in", caller=caller,
                                         reason=None, at=at) for session_id, records in sorted(by_session.items())])


def _attendance_event(uow: SchedulingUnitOfWork, session: SessionFacts, records: list[dict[str, Any]], *,
                      source: str, caller: Caller, reason: str | None,
                      at: datetime) -> tuple[EventEnvelope, uuid.UUID]:
    payload = AttendanceRecordedV1(session_id=session.id, programme_id=session.programme_id, source=source,
                                   recorded_by=caller.user, recorded_by_role=caller.role, reason=reason,
                                   records=records, recorded_at=at)
    return new_event("attendance.recorded", payload, regency=session.regency,
                     correlation_id=uow.correlation_id), session.id


# -- attendance by hand, and as it stands ------------------------------------------------------------------
def _session(uow: SchedulingUnitOfWork, caller: Caller, session_id: uuid.UUID) -> SessionFacts:
    session = uow.attendance.sessions([session_id]).get(session_id)
    if session is None or not caller.may_access(session.regency):
        raise DomainError("session_not_found")
    return session


def set_attendance(uow: SchedulingUnitOfWork, caller: Caller | None, session_id: str, participant_id: str,
                   command: AttendanceByHand) -> dict[str, Any]:
    """An operator sets one day of a participant present or absent, with a reason (in the event:
    who, when, why). Their word stands over any scan of that day uploaded later."""
    caller = require_role(caller, PLANNERS)
    sid = parse_id(session_id, "session_not_found")
    pid = parse_id(participant_id, "participant_not_in_session")
    with uow:
        session = _session(uow, caller, sid)
        uow.attendance.share_programmes([session.programme_id])
        session = _session(uow, caller, sid)
        if session.closed:
            raise DomainError("session_closed")
        if command.day not in session.days:
            raise DomainError("day_not_in_session", {"day": command.day.isoformat()})
        if not uow.attendance.seated([(pid, sid)]):
            raise DomainError("participant_not_in_session")
        at = _now()
        if uow.attendance.set_by_operator((sid, pid, command.day), present=command.present, by=caller.user,
                                          reason=command.reason, at=at):
            uow.attendance.fix_sessions([sid], at)
            records = [{"participant_id": pid, "day": command.day, "present": command.present}]
            uow.add_to_outbox([_attendance_event(uow, session, records, source="operator", caller=caller,
                                                 reason=command.reason, at=at)])
        uow.commit()
        days = uow.attendance.of_session(sid).get(pid, [])
    return {"session_id": str(sid), "participant_id": str(pid), "days": [_day_view(day) for day in days],
            "days_attended": sum(day["present"] for day in days)}


def _day_view(day: dict[str, Any]) -> dict[str, Any]:
    return {"day": day["day"].isoformat(), "present": day["present"], "source": day["source"]}


def get_attendance(uow: SchedulingUnitOfWork, caller: Caller | None, session_id: str) -> dict[str, Any]:
    """Everyone seated in the session with their days, and, once it is closed, who completed it."""
    caller = require_role(caller, READERS)
    sid = parse_id(session_id, "session_not_found")
    with uow:
        session = _session(uow, caller, sid)
        programme = uow.programmes.get(session.programme_id, None)
        people = uow.attendance.seated_people(sid)
        days = uow.attendance.of_session(sid)
        complete = {o.participant_id: o.complete for o in uow.attendance.outcomes(sid)}
    return {
        "session_id": str(sid), "days": [day.isoformat() for day in session.days],
        "status": "closed" if session.closed else "scheduled",
        "min_attendance_days": programme.min_attendance_days,
        "participants": [{
            "participant_id": str(person["participant_id"]), "full_name": person["full_name"],
            "position": person["position"], "cooperative": person["cooperative"],
            "days": [_day_view(day) for day in days.get(person["participant_id"], [])],
            "days_attended": sum(day["present"] for day in days.get(person["participant_id"], [])),
            "complete": complete.get(person["participant_id"]),
        } for person in people],
    }


def get_attendance_sheet(uow: SchedulingUnitOfWork, caller: Caller | None, signer: InvitationSigner,
                         cpu_run: CpuRun, session_id: str, query: AttendanceSheetQuery) -> dict[str, str]:
    """The paper attendance sheet of one session day (PDF): names, cooperative, position and a
    column to sign in; with each row's QR code if asked. The day sheet of today by default, if
    the session is on; else of its first day."""
    caller = require_role(caller, READERS)
    sid = parse_id(session_id, "session_not_found")
    with uow:
        session = _session(uow, caller, sid)
        today = jakarta_day(_now())
        day = query.day or (today if today in session.days else session.days[0])
        if day not in session.days:
            raise DomainError("day_not_in_session", {"day": day.isoformat()})
        programme = uow.programmes.get(session.programme_id, None)
        number = uow.plans.session(sid, None).planned.number
        venue = uow.venues.names({session.venue_id}).get(session.venue_id, "")
        people = uow.attendance.seated_people(sid)
    rows = [{"full_name": person["full_name"], "cooperative": person["cooperative"], "position": person["position"],
             "qr": signer.sign(person["participant_id"], sid, person["assigned_at"]) if query.with_qr else None}
            for person in people]
    sheet = {"programme_title": programme.title, "session_number": number, "venue_name": venue,
             "day": day.isoformat(), "rows": rows, "with_qr": query.with_qr}
    return {**_pdf(cpu_run(documents.render_attendance_sheet, sheet)), "day": day.isoformat()}


# -- closing --------------------------------------------------------------------------------------------
def close_session(uow: SchedulingUnitOfWork, caller: Caller | None, session_id: str) -> dict[str, Any]:
    """Close a session from its last day on: who attended at least the programme's minimum days
    completes it (``participant.completed``), the others are listed as not complete
    (``session.closed`` counts both). Closing again answers the same and changes nothing."""
    caller = require_role(caller, PLANNERS)
    sid = parse_id(session_id, "session_not_found")
    with uow:
        session = _session(uow, caller, sid)
        programme = uow.programmes.get(session.programme_id, None, lock=True)  # no upload runs meanwhile
        closure = uow.attendance.closure(sid)
        if closure is None:
            session = _session(uow, caller, sid)
            at = _now()
            last_day = max(session.days)
            if jakarta_day(at) < last_day:
                raise DomainError("session_not_over", {"last_day": last_day.isoformat()})
            people = [person["participant_id"] for person in uow.attendance.seated_people(sid)]
            present = {participant: [day["day"] for day in days if day["present"]]
                       for participant, days in uow.attendance.of_session(sid).items()}
            decided = outcomes(people, present, session.days, programme.min_attendance_days)
            uow.attendance.close(sid, programme.id, decided, by=caller.user, at=at)
            _announce_closure(uow, session, programme, decided, caller, at)
            uow.commit()
            closure = uow.attendance.closure(sid)
        decided = uow.attendance.outcomes(sid)
    return {
        "session_id": str(sid), "programme_id": str(session.programme_id), "status": "closed",
        "closed_at": closure["closed_at"].isoformat(), "closed_by": closure["closed_by"],
        "min_attendance_days": programme.min_attendance_days,
        "completed": [{"participant_id": str(o.participant_id), "days_attended": o.days_attended}
                      for o in decided if o.complete],
        "not_completed": [{"participant_id": str(o.participant_id), "days_attended": o.days_attended}
                          for o in decided if not o.complete],
    }


def _announce_closure(uow: SchedulingUnitOfWork, session: SessionFacts, programme: TrainingProgramme,
                      decided: list[Outcome], caller: Caller, at: datetime) -> None:
    def event(event_type: str, payload: Any, aggregate: uuid.UUID) -> tuple[EventEnvelope, uuid.UUID]:
        return new_event(event_type, payload, regency=session.regency, correlation_id=uow.correlation_id), aggregate

    completed = [o for o in decided if o.complete]
    events = [event("participant.completed", ParticipantCompletedV1(
        participant_id=o.participant_id, session_id=session.id, programme_id=programme.id,
        programme_title=programme.title, session_days=list(session.days), days_attended=o.days_attended,
        min_attendance_days=programme.min_attendance_days, jp_total=programme.total_hours, completed_at=at),
        o.participant_id) for o in completed]
    events.append(event("session.closed", SessionClosedV1(
        session_id=session.id, programme_id=programme.id, days=list(session.days), participants=len(decided),
        completed=len(completed), not_completed=len(decided) - len(completed), closed_by=caller.user,
        closed_at=at), session.id))
    uow.add_to_outbox(events)


# -- retention ---------------------------------------------------------------------------------------
def purge_old_scans(uow: SchedulingUnitOfWork, *, now: datetime | None = None,
                    kept: timedelta = SCANS_KEPT_AFTER_CLOSING, batch_size: int = PURGE_BATCH) -> int:
    """Delete the check-in scans of sessions closed more than ``kept`` ago, a batch per
    transaction; returns how many."""
    closed_before = (now or _now()) - kept
    purged = 0
    while True:
        with uow:
            deleted = uow.attendance.purge_scans(closed_before, batch_size)
            uow.commit()
        purged += deleted
        if deleted < batch_size:
            return purged
