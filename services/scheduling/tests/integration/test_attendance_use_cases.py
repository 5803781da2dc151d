"""Scheduling's attendance use cases against a real PostgreSQL (a fresh database for this module,
migrated to head, dropped afterwards), with signatures and PDFs computed in-process instead of in
a CpuPool worker: invitations, check-in uploads judged scan by scan (sent twice, out of order,
concurrently), attendance by hand, and closing a session."""
from __future__ import annotations

import base64
import re
import threading
import uuid
from collections import Counter
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bimtek_shared.contracts.caller import Caller
from bimtek_shared.contracts.envelope import new_event
from bimtek_shared.contracts.errors import DomainError
from bimtek_shared.persistence.messaging_tables import MessagingTables
from scheduling.adapters.invitation_tokens import InvitationSigner
from scheduling.adapters.orm import metadata
from scheduling.domain.attendance import JAKARTA
from scheduling.service_layer import attendance, certificates, handlers, plans, programmes
from scheduling.service_layer.commands import (
    AttendanceByHand, AttendanceSheetQuery, CheckInScope, CheckInUpload, NewProgramme, NewResourcePerson, NewVenue,
    parse_command,
)
from scheduling.service_layer.unit_of_work import SchedulingUnitOfWork
from scheduling.settings import DEVELOPMENT_QR_SIGNING_KEYS
from tests.support.databases import migrated_sessions

pytestmark = pytest.mark.integration

UNIT = Path(__file__).resolve().parents[2]
REGENCY = "35.17"
OCTOBER = [{"start": "2025-10-01", "end": "2025-10-31"}]
SIGNER = InvitationSigner.from_config({"QR_SIGNING_KEYS": DEVELOPMENT_QR_SIGNING_KEYS})


def in_process(fn, *args):
    """What CpuRunner.run does, without the worker process."""
    return fn(*args)


@pytest.fixture(scope="module")
def sessions():
    with migrated_sessions(UNIT, "sched_attendance", pool_size=6) as made:
        yield made


@pytest.fixture(scope="module")
def new_uow(sessions):
    messaging = MessagingTables(outbox=metadata.tables["outbox"], processed_events=metadata.tables["processed_events"])
    return lambda: SchedulingUnitOfWork(sessions, messaging, correlation_id=f"test-{uuid.uuid4().hex[:8]}")


OPERATOR = Caller(user=str(uuid.uuid4()), role="operator", regency=REGENCY, correlation_id="test")


def device(**scope: Any) -> tuple[Caller, CheckInScope]:
    caller = Caller(user=str(uuid.uuid4()), role="device", regency=scope.pop("regency", REGENCY),
                    correlation_id="test")
    return caller, parse_command(CheckInScope, {key: str(value) for key, value in scope.items()})


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


def query(new_uow, sql: str, **params: Any) -> list[Any]:
    uow = new_uow()
    with uow:
        return list(uow.session.execute(text(sql), params))


def outbox(new_uow, since: int) -> Counter:
    return Counter(row[0] for row in query(new_uow, "SELECT event_type FROM outbox WHERE id > :since", since=since))


def last_outbox_id(new_uow) -> int:
    return query(new_uow, "SELECT coalesce(max(id), 0) FROM outbox")[0][0]


class World:
    """Two cooperatives of three people each, a programme of two-day sessions (both days needed)
    and a hall of three seats: one session per cooperative, published."""

    def __init__(self, new_uow) -> None:
        self.teams: list[list[uuid.UUID]] = []
        for number in range(2):
            cooperative_id = uuid.uuid4()
            village = f"{REGENCY}.09.{2001 + number:04d}"
            handlers.record_cooperatives(new_uow(), [new_event("cooperative.registered", {
                "cooperative_id": str(cooperative_id), "name": f"Koperasi Desa Merah Putih {number + 1}",
                "villages": [village], "districts": [f"{REGENCY}.09"], "version": 1, "registered_at": _now()},
                regency=REGENCY, correlation_id="test")], "scheduling.handle_cooperative_registered")
            people = [uuid.uuid4() for _ in range(3)]
            handlers.record_imported_participants(new_uow(), [new_event("participants.imported", {
                "job_id": str(uuid.uuid4()), "participants": [
                    {"participant_id": str(pid), "full_name": f"Peserta {number}-{n}", "sex": "P",
                     "position_group": "pengurus", "position": "anggota_pengurus",
                     "cooperative_id": str(cooperative_id), "registered_at": _now()}
                    for n, pid in enumerate(people)]}, regency=REGENCY, correlation_id="test")],
                "scheduling.handle_participants_imported")
            self.teams.append(people)
        topic = f"Tata kelola KDMP {uuid.uuid4().hex[:6]}"
        programmes.create_resource_person(new_uow(), Caller(user="p", role="province_admin", regency="*",
                                                            correlation_id="t"),
                                          parse_command(NewResourcePerson, {"name": "Narasumber", "topics": [topic],
                                                                            "available": OCTOBER}))
        self.hall = programmes.create_venue(new_uow(), OPERATOR, parse_command(NewVenue, {
            "regency": REGENCY, "name": "Aula Kecamatan Diwek", "capacity": 3, "available": OCTOBER}))
        self.programme = programmes.create_programme(new_uow(), OPERATOR, parse_command(NewProgramme, {
            "regency": REGENCY, "title": "Bimtek Perkoperasian KDMP Jombang 2025", "topics": [{"topic": topic,
                                                                                               "hours": 16}],
            "days_per_session": 2, "window_start": "2025-10-01", "window_end": "2025-10-31",
            "min_attendance_days": 2}))
        preview = plans.preview_plan(new_uow(), OPERATOR, in_process, self.programme["id"])
        plan = plans.publish_plan(new_uow(), OPERATOR, self.programme["id"], preview["id"])
        seat = dict(query(new_uow, "SELECT participant_id, session_id FROM assignments WHERE programme_id = :p",
                          p=self.programme["id"]))
        self.sessions = [seat[team[0]] for team in self.teams]
        days = {uuid.UUID(s["id"]): [date.fromisoformat(d) for d in s["days"]] for s in plan["sessions"]}
        self.days = [days[session] for session in self.sessions]
        assert len(set(self.sessions)) == 2 and all(len(d) == 2 for d in self.days)

    def qr(self, team: int, person: int) -> str:
        return attendance.get_invitation(self.new_uow(), OPERATOR, SIGNER, str(self.teams[team][person])
                                         )["invitations"][0]["qr"]


@pytest.fixture(scope="module")
def world(new_uow) -> World:
    built = World(new_uow)
    built.new_uow = new_uow
    return built


def at(day: date, hour: int = 9) -> str:
    """A moment of that day in Jakarta, as a phone in Jombang stamps it."""
    return datetime.combine(day, time(hour), JAKARTA).isoformat()


def scan(qr: str, moment: str, **more: Any) -> dict[str, Any]:
    return {"nonce": uuid.uuid4().hex, "qr": qr, "scanned_at": moment, **more}


def upload(new_uow, caller_scope, scans: list[dict[str, Any]]) -> dict[str, Any]:
    caller, scope = caller_scope
    return attendance.check_in(new_uow(), caller, in_process, SIGNER, scope,
                               parse_command(CheckInUpload, {"scans": scans}))


def results(answer: dict[str, Any]) -> list[str]:
    return [item["result"] for item in answer["results"]]


def attended(new_uow, session_id: uuid.UUID) -> set[tuple[uuid.UUID, date]]:
    return {(p, d) for p, d in query(new_uow, "SELECT participant_id, day FROM attendance WHERE session_id = :s "
                                              "AND present", s=session_id)}


# -- the tests --------------------------------------------------------------------------------------------
def test_an_invitation_carries_a_signed_code_with_ids_only_for_the_participant_and_their_regency(new_uow, world):
    someone = world.teams[0][0]
    me = Caller(user=str(someone), role="participant", regency=REGENCY, correlation_id="t")
    mine = attendance.get_invitation(new_uow(), me, SIGNER, str(someone))
    invitation = mine["invitations"][0]
    assert invitation["session"]["id"] == str(world.sessions[0])
    assert invitation["session"]["days"] == [d.isoformat() for d in world.days[0]]
    assert invitation["venue"]["name"] == "Aula Kecamatan Diwek" and invitation["venue"]["address"] is None
    assert invitation["programme"]["title"] == "Bimtek Perkoperasian KDMP Jombang 2025"
    assert invitation["participant"]["full_name"] == "Peserta 0-0"
    assert "Peserta" not in invitation["qr"] and len(invitation["qr"]) == 140
    # The same code each time, until a re-plan moves them.
    assert attendance.get_invitation(new_uow(), OPERATOR, SIGNER, str(someone))["invitations"][0]["qr"] \
        == invitation["qr"]
    pdf = attendance.get_invitation_pdf(new_uow(), me, SIGNER, in_process, str(someone))["content_base64"]
    content = base64.b64decode(pdf)
    assert content.startswith(b"%PDF") and len(re.findall(rb"/Type /Page\b(?!s)", content)) == 1

    for caller in (Caller(user=str(world.teams[0][1]), role="participant", regency=REGENCY, correlation_id="t"),
                   Caller(user="x", role="operator", regency="35.15", correlation_id="t")):
        with pytest.raises(DomainError) as refused:
            attendance.get_invitation(new_uow(), caller, SIGNER, str(someone))
        assert refused.value.code == "participant_not_found"
    with pytest.raises(DomainError) as not_seated:
        attendance.get_invitation(new_uow(), OPERATOR, SIGNER, str(uuid.uuid4()))
    assert not_seated.value.code == "participant_not_found"


def test_an_upload_sent_twice_or_out_of_order_counts_each_day_once(new_uow, world):
    session, (first, second) = world.sessions[1], world.days[1]
    phone = device(session_id=session)
    qrs = [world.qr(1, n) for n in range(3)]
    day_two = [scan(qr, at(second, 8)) for qr in qrs]
    day_one = [scan(qr, at(first, 8)) for qr in qrs[:2]]
    mark = last_outbox_id(new_uow)

    late_first = upload(new_uow, phone, day_two)  # the second day's upload arrives first
    assert results(late_first) == ["recorded"] * 3
    again = upload(new_uow, phone, day_two)
    assert results(again) == ["duplicate"] * 3
    assert {item["first_result"] for item in again["results"]} == {"recorded"}
    twice = scan(qrs[0], at(first, 10))  # scanned again on day one
    early = upload(new_uow, phone, day_one + [twice])
    assert results(early) == ["recorded", "recorded", "already_present"]
    resent = upload(new_uow, phone, [twice, twice])  # what each scan came to is kept with its nonce
    assert [(item["result"], item["first_result"]) for item in resent["results"]] == \
        [("duplicate", "already_present"), ("duplicate", "already_present")]
    assert len(attended(new_uow, session)) == 5
    assert outbox(new_uow, mark)["attendance.recorded"] == 2  # one per upload that counted something
    assert query(new_uow, "SELECT locked FROM sessions WHERE id = :s", s=session)[0][0] is True


def test_the_same_upload_sent_by_two_requests_at_once_counts_once(new_uow, world):
    session, (first, _) = world.sessions[0], world.days[0]
    phone = device(venue_id=world.hall["id"])
    batch = [scan(world.qr(0, 2), at(first, 9))]
    answers: list[dict] = []
    threads = [threading.Thread(target=lambda: answers.append(upload(new_uow, phone, batch))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r for answer in answers for r in results(answer)) == ["duplicate", "recorded"]
    assert (world.teams[0][2], first) in attended(new_uow, session)


def test_each_wrong_scan_is_reported_and_counts_nothing(new_uow, world):
    (first, second), session = world.days[0], world.sessions[0]
    other_session = world.sessions[1]
    qr = world.qr(0, 1)
    tampered = qr[:-3] + ("AAA" if not qr.endswith("AAA") else "BBB")
    before = attended(new_uow, session)
    cases = [
        (device(session_id=session), scan(qr, at(first) , session_id=str(other_session)), "out_of_scope"),
        (device(session_id=other_session), scan(qr, at(first)), "wrong_session"),
        (device(), scan(qr, at(first), session_id=str(other_session)), "wrong_session"),
        (device(session_id=session), scan(qr, at(first - timedelta(days=1))), "wrong_day"),
        (device(session_id=session), scan(qr, at(first, 23)), "recorded"),  # 16:00 UTC: still day one
        (device(session_id=session), scan(tampered, at(first)), "invalid_signature"),
        (device(session_id=session), scan("BKI1.not-a-token", at(first)), "invalid_signature"),
        (device(venue_id=uuid.uuid4()), scan(qr, at(second)), "out_of_scope"),
        (device(regency="35.15"), scan(qr, at(second)), "out_of_scope"),
        (device(session_id=session, valid_until=first - timedelta(days=1)), scan(qr, at(second)), "out_of_scope"),
    ]
    for phone, one, expected in cases:
        assert results(upload(new_uow, phone, [one])) == [expected], expected
    assert attended(new_uow, session) - before == {(world.teams[0][1], first)}
    # A day in the future of the phone's own clock is not a session day yet.
    future = (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()
    assert results(upload(new_uow, device(session_id=session), [scan(qr, future)])) == ["wrong_day"]


def test_a_retired_key_no_longer_verifies_and_a_rotated_ring_still_does(new_uow, world):
    new_key = "2:" + base64.b64encode(b"second-qr-signing-key-for-tests!").decode()
    rotated = InvitationSigner.from_config({"QR_SIGNING_KEYS": f"{DEVELOPMENT_QR_SIGNING_KEYS},{new_key}",
                                            "QR_ACTIVE_KEY_ID": 2})
    retired = InvitationSigner.from_config({"QR_SIGNING_KEYS": new_key})
    old_qr = world.qr(1, 2)  # signed by key 1
    session = world.sessions[1]
    caller, scope = device(session_id=session)

    def check(signer: InvitationSigner) -> dict[str, Any]:
        return attendance.check_in(new_uow(), caller, in_process, signer, scope, parse_command(
            CheckInUpload, {"scans": [scan(old_qr, at(world.days[1][0], 11))]}))

    assert results(check(retired)) == ["invalid_signature"]
    assert results(check(rotated)) in (["recorded"], ["already_present"])


def test_an_operator_sets_days_by_hand_and_their_word_stands_over_later_scans(new_uow, world):
    session, (first, second) = world.sessions[1], world.days[1]
    person = world.teams[1][2]
    mark = last_outbox_id(new_uow)

    def set_day(present: bool, day: date = second, who: uuid.UUID = person) -> dict[str, Any]:
        return attendance.set_attendance(new_uow(), OPERATOR, str(session), str(who), parse_command(
            AttendanceByHand, {"day": day.isoformat(), "present": present, "reason": "koreksi"}))

    answer = set_day(False)  # counted by a scan on day two, then found to have left at once
    assert {"day": second.isoformat(), "present": False, "source": "operator"} in answer["days"]
    set_day(False)  # the same again changes nothing
    assert outbox(new_uow, mark)["attendance.recorded"] == 1
    overruled = upload(new_uow, device(session_id=session), [scan(world.qr(1, 2), at(second, 7))])
    assert results(overruled) == ["overruled_by_operator"]
    assert set_day(True, day=first)["days_attended"] == 1
    event = query(new_uow, "SELECT envelope FROM outbox WHERE id > :m AND event_type = 'attendance.recorded' "
                           "ORDER BY id DESC LIMIT 1", m=mark)[0][0]
    assert event["payload"]["source"] == "operator" and event["payload"]["reason"] == "koreksi"
    assert event["payload"]["recorded_by"] == OPERATOR.user

    for call, code in ((lambda: set_day(True, day=first - timedelta(days=1)), "day_not_in_session"),
                       (lambda: set_day(True, who=world.teams[0][0]), "participant_not_in_session")):
        with pytest.raises(DomainError) as refused:
            call()
        assert refused.value.code == code


def test_closing_completes_those_present_enough_once_and_refuses_later_attendance(new_uow, world):
    session, (first, second) = world.sessions[1], world.days[1]
    # By now in session 2: person 0 both days, person 1 both days, person 2 only day one (day two set absent).
    sheet = attendance.get_attendance_sheet(new_uow(), OPERATOR, SIGNER, in_process, str(session),
                                            parse_command(AttendanceSheetQuery, {"day": first.isoformat(),
                                                                                 "with_qr": True}))
    content = base64.b64decode(sheet["content_base64"])
    assert content.startswith(b"%PDF") and len(re.findall(rb"/Type /Page\b(?!s)", content)) == 1
    mark = last_outbox_id(new_uow)
    closed = attendance.close_session(new_uow(), OPERATOR, str(session))
    assert {c["participant_id"] for c in closed["completed"]} == {str(p) for p in world.teams[1][:2]}
    assert closed["not_completed"] == [{"participant_id": str(world.teams[1][2]), "days_attended": 1}]
    assert outbox(new_uow, mark) == {"participant.completed": 2, "session.closed": 1}
    completed = query(new_uow, "SELECT envelope FROM outbox WHERE id > :m AND event_type = 'participant.completed'",
                      m=mark)[0][0]["payload"]
    assert completed["jp_total"] == 16 and completed["days_attended"] == 2 and "full_name" not in completed

    assert attendance.close_session(new_uow(), OPERATOR, str(session)) == closed  # again: the same, nothing new
    assert outbox(new_uow, mark) == {"participant.completed": 2, "session.closed": 1}
    late = upload(new_uow, device(session_id=session), [scan(world.qr(1, 2), at(second, 12))])
    assert results(late) == ["session_closed"]
    with pytest.raises(DomainError) as refused:
        attendance.set_attendance(new_uow(), OPERATOR, str(session), str(world.teams[1][2]), parse_command(
            AttendanceByHand, {"day": second.isoformat(), "present": True, "reason": "terlambat"}))
    assert refused.value.code == "session_closed"
    status = attendance.get_attendance(new_uow(), OPERATOR, str(session))
    assert status["status"] == "closed"
    assert [p["complete"] for p in status["participants"]].count(True) == 2


def test_a_closed_sessions_scans_are_deleted_after_the_retention_and_its_attendance_stays(new_uow, world):
    """After the closing test: session 2 is closed, session 1 is not."""
    closed, still_open = world.sessions[1], world.sessions[0]

    def scans(session_id: uuid.UUID) -> int:
        return query(new_uow, "SELECT count(*) FROM check_in_scans WHERE session_id = :s", s=session_id)[0][0]

    kept_scans, open_scans, present = scans(closed), scans(still_open), attended(new_uow, closed)
    assert kept_scans >= 3 and open_scans >= 1
    closed_at = query(new_uow, "SELECT closed_at FROM session_closures WHERE session_id = :s", s=closed)[0][0]
    minute = timedelta(minutes=1)

    assert attendance.purge_old_scans(new_uow(), now=closed_at + attendance.SCANS_KEPT_AFTER_CLOSING - minute) == 0
    assert scans(closed) == kept_scans
    purged = attendance.purge_old_scans(new_uow(), now=closed_at + attendance.SCANS_KEPT_AFTER_CLOSING + minute,
                                        batch_size=2)  # batches smaller than the backlog

    assert purged == kept_scans and scans(closed) == 0 and scans(still_open) == open_scans
    assert attended(new_uow, closed) == present
    assert [p["complete"] for p in attendance.get_attendance(new_uow(), OPERATOR, str(closed))["participants"]
            ].count(True) == 2


def test_the_certificate_of_a_completion_is_noted_newest_version_first(new_uow, world):
    """After the closure above: certificates' events, in any order and twice, leave the newest word."""
    person, session = world.teams[1][0], world.sessions[1]

    def event(event_type: str, version: int, **more: Any):
        payload = {"certificate_id": str(uuid.uuid4()), "public_id": "p" * 22, "number": "0001/BIMTEK-KDMP/35.17/2026",
                   "version": version, "participant_id": str(person), "programme_id": world.programme["id"], **more}
        return new_event(event_type, payload, regency=REGENCY, correlation_id="test")

    issued = event("certificate.issued", 1, session_id=str(session), issued_at=_now())
    reissued = event("certificate.reissued", 2, session_id=str(session), issued_at=_now(), replaces=str(uuid.uuid4()))
    revoked = event("certificate.revoked", 2, revoked_by="admin", revoked_at=_now())
    noted = "SELECT certificate_number, certificate_version, certificate_status FROM session_outcomes " \
            "WHERE session_id = :s AND participant_id = :p"
    certificates.record_certificates(new_uow(), [reissued], "scheduling.handle_certificate_reissued")
    certificates.record_certificates(new_uow(), [issued, issued], "scheduling.handle_certificate_issued")  # late
    assert query(new_uow, noted, s=session, p=person) == [("0001/BIMTEK-KDMP/35.17/2026", 2, "valid")]
    certificates.record_certificates(new_uow(), [revoked], "scheduling.handle_certificate_revoked")
    assert query(new_uow, noted, s=session, p=person) == [("0001/BIMTEK-KDMP/35.17/2026", 2, "revoked")]
    # Several words in one batch (one statement) end as if they had come one by one.
    batch = [event("certificate.reissued", 3, session_id=str(session), issued_at=_now(), replaces=str(uuid.uuid4())),
             event("certificate.issued", 1, session_id=str(session), issued_at=_now()),
             event("certificate.revoked", 3, revoked_by="admin", revoked_at=_now()),
             event("certificate.revoked", 2, revoked_by="admin", revoked_at=_now())]
    certificates.record_certificates(new_uow(), batch, "scheduling.handle_certificate_words")
    assert query(new_uow, noted, s=session, p=person) == [("0001/BIMTEK-KDMP/35.17/2026", 3, "revoked")]
    # Who did not complete gets nothing noted.
    assert query(new_uow, noted, s=session, p=world.teams[1][2]) == [(None, None, None)]


def test_names_follow_registration_and_an_erasure_drops_them(new_uow, world):
    person, cooperative = world.teams[0][1], query(new_uow, "SELECT cooperative_id FROM participants "
                                                            "WHERE participant_id = :p", p=world.teams[0][1])[0][0]
    common = {"participant_id": str(person), "position_group": "pengurus", "cooperative_id": str(cooperative),
              "registered_at": _now()}
    handlers.record_participant_changes(new_uow(), [new_event("participant.updated", {
        **common, "version": 2, "full_name": "Nama Dibetulkan", "sex": "P", "position": "sekretaris",
        "changed": ["full_name", "position"], "updated_at": _now()}, regency=REGENCY, correlation_id="t")],
        "scheduling.handle_participant_updated")
    invited = attendance.get_invitation(new_uow(), OPERATOR, SIGNER, str(person))["invitations"][0]["participant"]
    assert (invited["full_name"], invited["position"]) == ("Nama Dibetulkan", "sekretaris")

    handlers.record_participant_changes(new_uow(), [new_event("participant.erased", {
        **common, "version": 3, "erased_at": _now()}, regency=REGENCY, correlation_id="t")],
        "scheduling.handle_participant_erased")
    assert query(new_uow, "SELECT full_name, position FROM participants WHERE participant_id = :p", p=person) \
        == [(None, None)]
