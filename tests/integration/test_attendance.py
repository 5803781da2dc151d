"""Invitations and attendance end to end through the public API, on the whole stack: Kabupaten
Tulungagung (35.04, which no other test plans) with two cooperatives of three people, a
programme of two-day sessions in September 2025 needing both days, and a hall of three seats, so
that each cooperative has a session of its own. Participants read their invitations (JSON and
PDF); check-in phones upload scans made offline, twice and out of order; wrong scans are
reported; a revoked phone is refused at once; an operator sets a day by hand; closing the
session completes those present, and certificates records exactly them."""
from __future__ import annotations

import re
import uuid
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from bimtek_gateway.identity import Role
from tests.integration.harness import System, participant_body, wait_until

pytestmark = pytest.mark.integration

API = "/api/v1"
TULUNGAGUNG = "35.04"
JAKARTA = ZoneInfo("Asia/Jakarta")
TOPIC = f"Tata kelola dan presensi KDMP {uuid.uuid4().hex[:6]}"  # taught by our own resource person only
SEPTEMBER_2025 = [{"start": "2025-09-01", "end": "2025-09-30"}]
POSITIONS = ("ketua", "sekretaris", "bendahara")


def bearer(system: System, role: Role, regency: str = TULUNGAGUNG, user: str | None = None) -> dict[str, str]:
    return system.bearer(role, regency, user=user)


def ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json()


def pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type /Page\b(?!s)", pdf))


def at(day: date, hour: int) -> str:
    return datetime.combine(day, time(hour), JAKARTA).isoformat()


class Tulungagung:
    """The regency's programme, published: ``teams[i]`` sit in ``sessions[i]`` on ``days[i]``."""

    def __init__(self, system: System) -> None:
        self.system = system
        self.operator = bearer(system, Role.OPERATOR)
        api = system.api
        villages = [code for (code,) in system.query(
            "registration", "SELECT v.code FROM villages v JOIN districts d ON d.code = v.district_code WHERE "
            "d.regency_code = %s AND NOT EXISTS (SELECT 1 FROM cooperative_villages c WHERE c.village_code = v.code) "
            "ORDER BY v.code LIMIT 2", (TULUNGAGUNG,))]
        self.teams: list[list[str]] = []
        for village in villages:
            cooperative = ok(api.post(f"{API}/cooperatives", headers=self.operator, json={"villages": [village]}), 201)
            self.teams.append([ok(api.post(f"{API}/participants", headers=self.operator, json=participant_body(
                position=position, cooperative_id=cooperative["id"])), 201)["id"] for position in POSITIONS])
        everyone = [person for team in self.teams for person in team]
        wait_until(lambda: system.count("scheduling", "participants p JOIN cooperatives c USING (cooperative_id)",
                                        "p.participant_id::text = ANY(%s) AND p.full_name IS NOT NULL",
                                        (everyone,)) == 6, 60, message="scheduling never learnt of Tulungagung")
        ok(api.post(f"{API}/resource-persons", headers=bearer(system, Role.PROVINCE_ADMIN, "*"), json={
            "name": "Dra. Endang Sulistyowati", "topics": [TOPIC], "available": SEPTEMBER_2025}), 201)
        self.venue = ok(api.post(f"{API}/venues", headers=self.operator, json={
            "name": "Pendopo Kongas Arum Kusumaning Bongso", "capacity": 3, "available": SEPTEMBER_2025}), 201)
        self.programme = ok(api.post(f"{API}/programmes", headers=self.operator, json={
            "title": "Bimtek Pengurus dan Pengawas KDMP Tulungagung 2025", "topics": [{"topic": TOPIC, "hours": 16}],
            "days_per_session": 2, "window_start": "2025-09-01", "window_end": "2025-09-30",
            "min_attendance_days": 2}), 201)
        preview = ok(api.post(f"{API}/programmes/{self.programme['id']}/plan-previews", headers=self.operator,
                              timeout=30), 201)
        plan = ok(api.post(f"{API}/programmes/{self.programme['id']}/plan", headers=self.operator,
                           json={"preview_id": preview["id"]}, timeout=30))
        seat = {str(p): str(s) for p, s in system.query(
            "scheduling", "SELECT participant_id, session_id FROM assignments WHERE programme_id = %s",
            (self.programme["id"],))}
        self.sessions = [seat[team[0]] for team in self.teams]
        days = {s["id"]: [date.fromisoformat(d) for d in s["days"]] for s in plan["sessions"]}
        self.days = [days[session] for session in self.sessions]
        assert len(set(self.sessions)) == 2 and all(seat[p] == s for team, s in zip(self.teams, self.sessions)
                                                    for p in team)

    def invitation(self, person: str) -> dict[str, Any]:
        own = bearer(self.system, Role.PARTICIPANT, user=person)
        return ok(self.system.api.get(f"{API}/participants/{person}/invitation", headers=own))["invitations"][0]

    def phone(self, **scope: str) -> tuple[str, dict[str, str]]:
        issued = ok(self.system.api.post(f"{API}/device-tokens", headers=self.operator,
                                         json={"label": "HP presensi pelatih", **scope}), 201)
        return issued["id"], {"Authorization": f"Bearer {issued['token']}"}

    def upload(self, phone: dict[str, str], scans: list[dict[str, Any]]) -> httpx.Response:
        return self.system.api.post(f"{API}/check-ins", headers=phone, json={"scans": scans})

    def attended(self, session: str) -> set[tuple[str, date]]:
        return {(str(p), d) for p, d in self.system.query(
            "scheduling", "SELECT participant_id, day FROM attendance WHERE session_id = %s AND present", (session,))}


@pytest.fixture(scope="module")
def regency(system: System) -> Tulungagung:
    system.ensure_running()
    return Tulungagung(system)


def scan(qr: str, moment: str, **more: Any) -> dict[str, Any]:
    return {"nonce": str(uuid.uuid4()), "qr": qr, "scanned_at": moment, **more}


def results(answer: httpx.Response) -> list[str]:
    return [item["result"] for item in ok(answer)["results"]]


def test_a_participant_gets_their_invitation_as_data_and_as_a_pdf(running_system: System, regency: Tulungagung):
    person = regency.teams[0][0]
    invitation = regency.invitation(person)
    assert invitation["session"]["id"] == regency.sessions[0]
    assert invitation["session"]["days"] == [d.isoformat() for d in regency.days[0]]
    assert invitation["venue"]["name"] == regency.venue["name"]
    assert invitation["programme"]["title"] == regency.programme["title"]
    assert invitation["qr"].startswith("BKI1.") and invitation["participant"]["position"] == "ketua"
    own = bearer(running_system, Role.PARTICIPANT, user=person)
    pdf = running_system.api.get(f"{API}/participants/{person}/invitation.pdf", headers=own)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and pages(pdf.content) == 1
    for stranger in (bearer(running_system, Role.PARTICIPANT, user=regency.teams[0][1]),
                     bearer(running_system, Role.OPERATOR, regency="35.15")):
        refused = running_system.api.get(f"{API}/participants/{person}/invitation", headers=stranger)
        assert refused.status_code == 404, refused.text


def test_an_offline_batch_uploaded_twice_and_out_of_order_counts_each_day_once(
        running_system: System, regency: Tulungagung):
    session, (first, second) = regency.sessions[0], regency.days[0]
    _, phone = regency.phone(session_id=session)
    qrs = [regency.invitation(person)["qr"] for person in regency.teams[0]]
    day_two = [scan(qr, at(second, 8)) for qr in qrs]
    day_one = [scan(qr, at(first, 8)) for qr in qrs[:2]]

    assert results(regency.upload(phone, day_two)) == ["recorded"] * 3  # the later day arrives first
    again = ok(regency.upload(phone, day_two))
    assert [(r["result"], r["first_result"]) for r in again["results"]] == [("duplicate", "recorded")] * 3
    assert results(regency.upload(phone, day_one + [scan(qrs[0], at(first, 9))])) == \
        ["recorded", "recorded", "already_present"]
    people = regency.teams[0]
    assert regency.attended(session) == {(p, second) for p in people} | {(p, first) for p in people[:2]}
    events = running_system.query("scheduling", "SELECT envelope FROM outbox WHERE event_type = 'attendance.recorded' "
                                                "AND aggregate_id = %s", (session,))
    assert sorted(len(envelope["payload"]["records"]) for (envelope,) in events) == [2, 3]
    assert "Peserta" not in str(events)  # ids only


def test_scans_for_another_session_or_day_are_reported_and_not_counted(running_system: System,
                                                                       regency: Tulungagung):
    (first, _), session, other = regency.days[0], regency.sessions[0], regency.sessions[1]
    _, phone = regency.phone(session_id=session)
    someone_else = regency.invitation(regency.teams[1][0])["qr"]  # seated in the other session
    mine = regency.invitation(regency.teams[0][2])["qr"]
    before = regency.attended(session)
    answer = regency.upload(phone, [scan(someone_else, at(first, 10)), scan(mine, at(date(2025, 8, 29), 10)),
                                    scan(mine[:-10] + ("B" if mine[-10] == "A" else "A") + mine[-9:], at(first, 10)),
                                    scan(mine, at(first, 10), session_id=other)])
    assert results(answer) == ["wrong_session", "wrong_day", "invalid_signature", "out_of_scope"]
    assert regency.attended(session) == before and not regency.attended(other)


def test_a_phone_acts_only_for_its_session_and_not_at_all_once_revoked(running_system: System,
                                                                       regency: Tulungagung):
    (first, _), session, other = regency.days[1], regency.sessions[1], regency.sessions[0]
    qr = regency.invitation(regency.teams[1][0])["qr"]
    _, elsewhere = regency.phone(session_id=other)
    assert results(regency.upload(elsewhere, [scan(qr, at(first, 8), session_id=session)])) == ["out_of_scope"]
    assert results(regency.upload(elsewhere, [scan(qr, at(first, 8))])) == ["wrong_session"]

    token_id, phone = regency.phone(session_id=session)
    assert results(regency.upload(phone, [scan(qr, at(first, 8))])) == ["recorded"]
    assert running_system.api.delete(f"{API}/device-tokens/{token_id}", headers=regency.operator).status_code == 204
    refused = regency.upload(phone, [scan(qr, at(first, 9))])
    assert refused.status_code == 401 and refused.json()["code"] == "unauthenticated"
    people = running_system.api.post(f"{API}/check-ins", headers=regency.operator,
                                     json={"scans": [scan(qr, at(first, 9))]})
    assert people.status_code == 403 and people.json()["code"] == "device_token_required"


def test_an_operator_sets_days_by_hand_and_closing_completes_only_those_present_enough(
        running_system: System, regency: Tulungagung):
    system, session, (first, second) = running_system, regency.sessions[0], regency.days[0]
    # Session 1 so far: persons 0 and 1 both days, person 2 only the second day.
    latecomer = regency.teams[0][2]
    by_hand = system.api.put(f"{API}/sessions/{session}/attendance/{latecomer}", headers=regency.operator,
                             json={"day": second.isoformat(), "present": False, "reason": "pulang sebelum acara"})
    assert ok(by_hand)["days_attended"] == 0
    trainer = bearer(system, Role.TRAINER)
    assert system.api.put(f"{API}/sessions/{session}/attendance/{latecomer}", headers=trainer, json={
        "day": second.isoformat(), "present": True, "reason": "x"}).status_code == 403
    sheet = system.api.get(f"{API}/sessions/{session}/attendance-sheet.pdf", headers=trainer,
                           params={"day": first.isoformat(), "with_qr": "true"})
    assert sheet.status_code == 200 and sheet.content.startswith(b"%PDF") and pages(sheet.content) == 1
    listed = ok(system.api.get(f"{API}/sessions/{session}/attendance", headers=trainer))
    assert {p["participant_id"]: p["days_attended"] for p in listed["participants"]} == \
        {regency.teams[0][0]: 2, regency.teams[0][1]: 2, latecomer: 0}

    closed = ok(system.api.post(f"{API}/sessions/{session}/closure", headers=regency.operator))
    assert {c["participant_id"] for c in closed["completed"]} == set(regency.teams[0][:2])
    assert closed["not_completed"] == [{"participant_id": latecomer, "days_attended": 0}]
    assert ok(system.api.post(f"{API}/sessions/{session}/closure", headers=regency.operator)) == closed
    assert system.count("scheduling", "outbox", "event_type = 'participant.completed' "
                                                "AND envelope->'payload'->>'session_id' = %s", (session,)) == 2

    def completions() -> set[str] | None:
        rows = {str(p) for (p,) in system.query("certificates", "SELECT participant_id FROM completions "
                                                                "WHERE session_id = %s", (session,))}
        closing = system.count("certificates", "closed_sessions", "session_id = %s", (session,))
        return rows if len(rows) == 2 and closing == 1 else None

    assert wait_until(completions, 60, message="certificates never recorded the completions") \
        == set(regency.teams[0][:2])
    # Each completion got its certificate, and scheduling noted its number beside the outcome.

    def numbered() -> list[tuple] | None:
        rows = system.query("scheduling", "SELECT certificate_number, certificate_status FROM session_outcomes "
                                          "WHERE session_id = %s AND complete ORDER BY certificate_number", (session,))
        return rows if len(rows) == 2 and all(number for number, _ in rows) else None

    issued = system.query("certificates", "SELECT number FROM certificates WHERE session_id = %s ORDER BY number",
                          (session,))
    assert wait_until(numbered, 60, message="scheduling never noted the certificates") == \
        [(number, "valid") for (number,) in issued]
    qr = regency.invitation(latecomer)["qr"]
    _, phone = regency.phone(session_id=session)
    assert results(regency.upload(phone, [scan(qr, at(second, 15))])) == ["session_closed"]
    late = system.api.put(f"{API}/sessions/{session}/attendance/{latecomer}", headers=regency.operator,
                          json={"day": first.isoformat(), "present": True, "reason": "terlambat"})
    assert late.status_code == 409 and late.json()["code"] == "session_closed"
    assert ok(system.api.get(f"{API}/sessions/{session}", headers=trainer))["status"] == "closed"
