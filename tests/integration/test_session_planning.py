"""Planning sessions end to end through the public API, on the whole stack: the real structure of
Kabupaten Jombang (306 cooperatives of its real villages, 2,448 people, imported from the synthetic
file), a programme of one-day 8 JP sessions in October 2025, the hall Ruang Bung Tomo of 250 seats
and two provincial resource persons. Preview (figures checked), publish (events reach
certificates), a late registration re-planned on its own (only the newcomer moves), and a second
regency that cannot book the same resource persons on the same days."""
from __future__ import annotations

import math
import os
import secrets
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from bimtek_gateway.identity import Role
from scheduling.adapters.calendar import non_working_days
from tests.integration.harness import System, participant_body, wait_until
from tests.support import synthetic

pytestmark = pytest.mark.integration

API = "/api/v1"
JOMBANG = synthetic.JOMBANG
SIDOARJO = "35.15"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TOPICS = [{"topic": "Perkoperasian dan tata kelola KDMP", "hours": 4},
          {"topic": "Manajemen usaha dan keuangan koperasi", "hours": 4}]
OCTOBER_2025 = [{"start": "2025-10-01", "end": "2025-10-31"}]
BIMTEK = shutil.which("bimtek", path=str(Path(sys.executable).parent)) or "bimtek"


@pytest.fixture(scope="module")
def running_system(own_system: System) -> System:
    """Its own stack: planning needs all of Jombang imported, untouched by other tests (see ``own_system``)."""
    return own_system


def bearer(system: System, role: Role, regency: str) -> dict[str, str]:
    return system.bearer(role, regency)


def created(answer: httpx.Response, status: int = 201) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    return answer.json()


def import_jombang(system: System) -> None:
    """The real Jombang file, through the gateway. Another test of the session may have imported it
    already: then every row is refused as registered, and the structure is there."""
    content = synthetic.to_xlsx(synthetic.team_rows(JOMBANG))
    answer = system.api.post(f"{API}/participant-imports", files={"file": ("jombang.xlsx", content, XLSX)}, timeout=60)
    assert answer.status_code in (200, 202), answer.text

    def finished() -> dict[str, Any] | None:
        job = system.api.get(answer.headers["location"]).json()
        return job if job["status"] in ("succeeded", "failed") else None

    job = wait_until(finished, 180, interval=0.5, message="the Jombang import did not finish")
    if job["status"] == "failed":
        assert {error["code"] for error in job["errors"]} == {"participant_already_registered"}, job["errors"][:3]
        assert len(job["errors"]) == 2_448
    else:
        assert job["done"] == 2_448, job


def plannable_in_scheduling(system: System, regency: str) -> int:
    """Waiting participants of the regency's cooperatives, as scheduling knows them."""
    return system.count("scheduling", "participants p JOIN cooperatives c ON c.cooperative_id = p.cooperative_id",
                        "c.regency = %s AND p.status = 'waiting'", (regency,))


def wait_until_scheduling_knows_everyone(system: System, regency: str) -> int:
    """Scheduling holds every active participant of the regency's cooperatives that registration holds."""
    def caught_up() -> int | None:
        want = system.count("registration", "participants p JOIN cooperatives c ON c.id = p.cooperative_id",
                            "c.regency = %s AND p.status = 'active'", (regency,))
        have = plannable_in_scheduling(system, regency)
        return have if have == want else None

    return wait_until(caught_up, 180, interval=0.5, message=f"scheduling did not catch up with {regency}")


def free_villages(system: System, regency: str, count: int) -> list[str]:
    return [code for (code,) in system.query(
        "registration", "SELECT v.code FROM villages v JOIN districts d ON d.code = v.district_code "
        "WHERE d.regency_code = %s AND NOT EXISTS (SELECT 1 FROM cooperative_villages c WHERE c.village_code = v.code) "
        "ORDER BY v.code LIMIT %s", (regency, count))]


def programme_body(regency: str) -> dict[str, Any]:
    return {"title": f"Bimtek Perkoperasian KDMP {regency} 2025", "topics": TOPICS, "days_per_session": 1,
            "window_start": "2025-10-01", "window_end": "2025-10-31", "min_attendance_days": 1}


def bookings(system: System, programme_id: str) -> set[tuple[str, date]]:
    return {(str(person), day) for person, day in system.query(
        "scheduling", "SELECT person_id, day FROM resource_person_days WHERE programme_id = %s", (programme_id,))}


def seats(system: System, programme_id: str) -> dict[str, str]:
    return {str(p): str(s) for p, s in system.query(
        "scheduling", "SELECT participant_id, session_id FROM assignments WHERE programme_id = %s", (programme_id,))}


def outbox_count(system: System, event_type: str, programme_id: str) -> tuple[int, int]:
    """(rows, published rows) of scheduling's outbox of this type for this programme."""
    total, published = system.query(
        "scheduling", "SELECT count(*), count(published_at) FROM outbox WHERE event_type = %s "
                      "AND envelope->'payload'->>'programme_id' = %s", (event_type, programme_id))[0]
    return int(total), int(published)


def seats_announced(system: System, programme_id: str) -> tuple[int, int]:
    """(seats, published seats) in scheduling's ``participants.assigned`` events for this programme."""
    total, published = system.query(
        "scheduling", "SELECT coalesce(sum(jsonb_array_length(envelope->'payload'->'seats')), 0), "
                      "coalesce(sum(jsonb_array_length(envelope->'payload'->'seats')) "
                      "FILTER (WHERE published_at IS NOT NULL), 0) FROM outbox "
                      "WHERE event_type = 'participants.assigned' AND envelope->'payload'->>'programme_id' = %s",
        (programme_id,))[0]
    return int(total), int(published)


def test_jombang_is_planned_published_and_replanned_and_persons_are_never_double_booked(
    running_system: System,
) -> None:
    system = running_system
    operator = system.api  # the session's operator of Jombang
    province = bearer(system, Role.PROVINCE_ADMIN, "*")
    sidoarjo = bearer(system, Role.OPERATOR, SIDOARJO)

    import_jombang(system)
    people = wait_until_scheduling_knows_everyone(system, JOMBANG)
    assert people >= 2_448

    persons = [created(operator.post(f"{API}/resource-persons", headers=province, json={
        "name": name, "topics": [t["topic"] for t in TOPICS], "available": OCTOBER_2025}))
        for name in ("Dra. Sri Wahyuni, M.M.", "Drs. Bambang Hartono, M.Si.")]
    programme = created(operator.post(f"{API}/programmes", json=programme_body(JOMBANG)))
    hall = created(operator.post(f"{API}/venues", json={"name": "Ruang Bung Tomo", "capacity": 250,
                                                        "available": OCTOBER_2025}))
    assert programme["regency"] == hall["regency"] == JOMBANG and programme["total_hours"] == 8

    # -- the preview and its figures
    preview = created(operator.post(f"{API}/programmes/{programme['id']}/plan-previews", timeout=30))
    figures = preview["figures"]
    assert preview["participants"] == people and preview["unplaced"] == []
    assert figures["sessions_lower_bound"] == math.ceil(people / 250)
    assert figures["sessions"] == figures["sessions_lower_bound"]
    if people == 2_448:  # the Jombang file alone (other tests may add a few people to the regency)
        assert figures["sessions"] == 10
    assert figures["districts_split"] <= figures["sessions"] - 1  # of 21 kecamatan
    days = [date.fromisoformat(d) for s in preview["sessions"] for d in s["days"]]
    off = non_working_days(date(2025, 10, 1), date(2025, 10, 31))
    assert all(day.weekday() < 5 and day not in off and day.month == 10 for day in days)
    assert len(days) == len(set(days))  # one hall: a session a day
    assert figures["finish"] == max(days).isoformat() <= "2025-10-31"
    assert all(s["participants"] <= 250 and s["why"] and s["resource_persons"] for s in preview["sessions"])
    assert {p["id"] for s in preview["sessions"] for p in s["resource_persons"]} <= {p["id"] for p in persons}

    # -- Sidoarjo previews with the same resource persons before Jombang publishes
    villages = free_villages(system, SIDOARJO, 2)
    cooperatives = [created(operator.post(f"{API}/cooperatives", headers=sidoarjo, json={"villages": [village]}))
                    for village in villages]
    for cooperative in cooperatives:
        for position in ("ketua", "sekretaris", "bendahara"):
            created(operator.post(f"{API}/participants", headers=sidoarjo,
                                  json=participant_body(position=position, cooperative_id=cooperative["id"])))
    wait_until(lambda: plannable_in_scheduling(system, SIDOARJO) >= 6, 60, message="Sidoarjo's people in scheduling")
    other = created(operator.post(f"{API}/programmes", headers=sidoarjo, json=programme_body(SIDOARJO)))
    created(operator.post(f"{API}/venues", headers=sidoarjo, json={"name": "Pendopo Delta Wibawa", "capacity": 100,
                                                                   "available": OCTOBER_2025}))
    stale = created(operator.post(f"{API}/programmes/{other['id']}/plan-previews", headers=sidoarjo, timeout=30))
    assert stale["sessions"] and stale["sessions"][0]["days"] == preview["sessions"][0]["days"]  # the same first day

    # -- Jombang publishes; the events reach certificates
    plan = created(operator.post(f"{API}/programmes/{programme['id']}/plan", json={"preview_id": preview["id"]},
                                 timeout=30), 200)
    assert plan["status"] == "published" and plan["revision"] == 1
    assert [s["id"] for s in plan["sessions"]] == [s["id"] for s in preview["sessions"]]
    seated = seats(system, programme["id"])
    assert len(seated) == people
    wait_until(lambda: seats_announced(system, programme["id"]) == (people, people), 60,
               message="participants.assigned not all published")
    assert outbox_count(system, "session.scheduled", programme["id"]) == (len(plan["sessions"]),) * 2
    assert outbox_count(system, "programme.published", programme["id"]) == (1, 1)
    wait_until(lambda: system.count("certificates", "seats", "programme_id = %s", (programme["id"],)) == people, 60,
               message="certificates did not record every seat of participants.assigned")
    assert system.count("certificates", "training_sessions", "programme_id = %s", (programme["id"],)) \
        == len(plan["sessions"])
    someone = next(iter(seated))

    def seated_as_registration_knows() -> dict | None:  # from scheduling's events, a moment later
        view = operator.get(f"{API}/participants/{someone}").json()["scheduling"]
        return view if view["status"] == "scheduled" else None

    status = wait_until(seated_as_registration_knows, 30, message="registration never saw the seat")
    assert [session["session_id"] for session in status["sessions"]] == [seated[someone]]
    assert status["sessions"][0]["days"] and status["sessions"][0]["venue"]["name"]

    # -- Sidoarjo's stale preview is refused; a fresh one avoids Jombang's days of the same persons
    refused = operator.post(f"{API}/programmes/{other['id']}/plan", headers=sidoarjo, json={"preview_id": stale["id"]})
    assert refused.status_code == 409 and refused.json()["code"] == "plan_preview_outdated", refused.text
    fresh = created(operator.post(f"{API}/programmes/{other['id']}/plan-previews", headers=sidoarjo, timeout=30))
    created(operator.post(f"{API}/programmes/{other['id']}/plan", headers=sidoarjo,
                          json={"preview_id": fresh["id"]}), 200)
    assert not bookings(system, programme["id"]) & bookings(system, other["id"])
    assert bookings(system, other["id"])

    # -- a late registration re-plans on its own, and only the newcomer moves
    cooperative_id = str(system.query("scheduling", "SELECT cooperative_id FROM assignments WHERE participant_id = %s",
                                      (someone,))[0][0])
    late = created(operator.post(f"{API}/participants", json=participant_body(
        position="anggota_pengurus", cooperative_id=cooperative_id)))["id"]

    def replanned() -> dict[str, str] | None:
        now = seats(system, programme["id"])
        return now if late in now else None

    after = wait_until(replanned, 60, interval=0.5, message="the late registration was never seated")
    assert {p: s for p, s in after.items() if p != late} == seated
    assert seats_announced(system, programme["id"])[0] == people + 1
    current = operator.get(f"{API}/programmes/{programme['id']}/plan").json()
    assert current["revision"] == 2 and current["participants"] == people + 1
    team_sessions = [s for s in current["sessions"] if cooperative_id in {c["id"] for c in s["cooperatives"]}]
    assert after[late] in {s["id"] for s in team_sessions}  # with the team, or the next session with room
    wait_until(lambda: system.count("certificates", "seats", "participant_id = %s", (late,)) == 1, 60,
               message="certificates did not record the late participant's seat")

    # -- the late one withdraws: the re-plan unseats them, and registration hears of it
    withdrawn = operator.post(f"{API}/participants/{late}/withdrawal", json={"reason": "resigned"})
    assert withdrawn.status_code == 200, withdrawn.text
    wait_until(lambda: late not in seats(system, programme["id"]), 60, message="the withdrawn one kept their seat")
    wait_until(lambda: system.count("registration", "progress_seats", "participant_id = %s AND session_id IS NULL",
                                    (late,)) == 1, 60,
               message="registration never heard of participants.unassigned")
    assert {p: s for p, s in seats(system, programme["id"]).items()} == seated  # nobody else moved


def test_a_trainer_reads_plans_and_another_regency_sees_none(running_system: System) -> None:
    system = running_system
    trainer = bearer(system, Role.TRAINER, JOMBANG)
    outsider = bearer(system, Role.OPERATOR, "35.16")
    programme = created(system.api.post(f"{API}/programmes", json=programme_body(JOMBANG)))
    assert system.api.get(f"{API}/programmes/{programme['id']}", headers=trainer).status_code == 200
    assert system.api.post(f"{API}/programmes/{programme['id']}/plan-previews", headers=trainer).status_code == 403
    assert system.api.get(f"{API}/programmes/{programme['id']}", headers=outsider).status_code == 404
    missing = system.api.get(f"{API}/programmes/{programme['id']}/plan")
    assert missing.status_code == 404 and missing.json()["code"] == "plan_not_found"
    listed = system.api.get(f"{API}/programmes", headers=outsider, params={"limit": 200}).json()["items"]
    assert programme["id"] not in {item["id"] for item in listed}


def regencies_sharing_one_person(system: System, regencies: tuple[str, str], first_day: str) -> tuple[
        dict[str, Any], list[str], list[str]]:
    """Two regencies of two teams of three each, a hall each, and one resource person, free on two
    days only, who alone teaches their programmes' topic: (person, programme ids, the two days)."""
    operator, province = system.api, bearer(system, Role.PROVINCE_ADMIN, "*")
    topic = {"topic": f"Perencanaan bersama tingkat provinsi {'-'.join(regencies)}", "hours": 8}
    second_day = (date.fromisoformat(first_day) + timedelta(days=1)).isoformat()
    two_days = [{"start": first_day, "end": second_day}]
    person = created(operator.post(f"{API}/resource-persons", headers=province, json={
        "name": "Dr. Hadi Santoso, M.Si.", "topics": [topic["topic"]], "available": two_days}))
    programmes = []
    for regency in regencies:
        local = bearer(system, Role.OPERATOR, regency)
        for village in free_villages(system, regency, 2):
            cooperative = created(operator.post(f"{API}/cooperatives", headers=local, json={"villages": [village]}))
            for position in ("ketua", "sekretaris", "bendahara"):
                created(operator.post(f"{API}/participants", headers=local, json=participant_body(
                    position=position, cooperative_id=cooperative["id"])))
        wait_until(lambda: plannable_in_scheduling(system, regency) == 6, 60, message=f"{regency}'s people")
        created(operator.post(f"{API}/venues", headers=local, json={
            "name": "Pendopo Kabupaten", "capacity": 50, "available": two_days}))
        programmes.append(created(operator.post(f"{API}/programmes", headers=local, json={
            **programme_body(regency), "topics": [topic], "window_start": first_day,
            "window_end": second_day}))["id"])
    return person, programmes, [first_day, second_day]


def test_a_province_plans_two_regencies_together_and_publishes_both_at_once(running_system: System) -> None:
    """Planned one regency after the other both would want the person's first day; planned
    together each gets one."""
    system = running_system
    operator, province = system.api, bearer(system, Role.PROVINCE_ADMIN, "*")
    person, programmes, days = regencies_sharing_one_person(system, ("35.19", "35.20"), "2025-11-03")

    answer = created(operator.post(f"{API}/plan-previews", headers=province, json={"programme_ids": programmes},
                                   timeout=30))
    previews = answer["previews"]
    assert [(p["programme_id"], p["session_count"], p["participants"], p["unplaced_count"]) for p in previews] == \
           [(programmes[0], 1, 6, 0), (programmes[1], 1, 6, 0)]
    shown = [created(operator.get(f"{API}/programmes/{pid}/plan-previews/{p['id']}", headers=province), 200)
             for pid, p in zip(programmes, previews)]
    assert sorted(s["sessions"][0]["days"][0] for s in shown) == days
    assert all(s["sessions"][0]["resource_persons"][0]["id"] == person["id"] for s in shown)

    ids = [p["id"] for p in previews]
    published = created(operator.post(f"{API}/plan-publications", headers=province, json={"preview_ids": ids},
                                      timeout=30), 200)["plans"]
    assert [(p["id"], p["status"], p["revision"]) for p in published] == [(ids[0], "published", 1),
                                                                           (ids[1], "published", 1)]
    assert sorted(day.isoformat() for pid in programmes for _, day in bookings(system, pid)) == days
    for pid in programmes:
        assert len(seats(system, pid)) == 6
        wait_until(lambda: system.count("certificates", "seats", "programme_id = %s", (pid,)) == 6, 60,
                   message="certificates did not record the seats of a plan published together")
    again = created(operator.post(f"{API}/plan-publications", headers=province, json={"preview_ids": ids}), 200)
    assert again["plans"] == published and outbox_count(system, "programme.published", programmes[0]) == (1, 1)
    english = operator.post(f"{API}/plan-previews", headers={**province, "Accept-Language": "en"},
                            json={"programme_ids": [programmes[0], programmes[0]]})
    assert english.status_code == 422 and english.json()["code"] == "plan_programmes_repeated"
    assert "only once" in english.json()["detail"]


def test_the_command_line_plans_and_publishes_several_programmes_together(running_system: System,
                                                                          tmp_path: Path) -> None:
    system = running_system
    _, programmes, days = regencies_sharing_one_person(system, ("35.21", "35.22"), "2025-11-10")
    username, password = f"provinsi.{secrets.token_hex(4)}", secrets.token_urlsafe(18)
    created(system.api.post(f"{API}/users", headers=bearer(system, Role.PROVINCE_ADMIN, "*"), json={
        "username": username, "password": password, "role": "province_admin"}))
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path), "BIMTEK_GATEWAY": system.stack.gateway_url,
           "BIMTEK_PASSWORD": password}
    env.pop("BIMTEK_LANG", None)

    def bimtek(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([BIMTEK, *args, "--quiet"], env=env, capture_output=True, text=True, timeout=120)

    assert bimtek("login", "--username", username).returncode == 0
    named = [arg for pid in programmes for arg in ("--programme", pid)]
    shown = bimtek("plan", *named)
    assert shown.returncode == 0, shown.stderr
    assert "35.21: pratinjau" in shown.stdout and "35.22: pratinjau" in shown.stdout
    assert "1 sesi (batas bawah 1), 6 peserta, 0 koperasi tanpa sesi" in shown.stdout
    assert "Belum diterbitkan" in shown.stdout and not any(seats(system, pid) for pid in programmes)

    done = bimtek("plan", *named, "--publish", "--lang", "en")
    assert done.returncode == 0, done.stderr
    assert "35.21: plan published (revision 1)." in done.stdout and "35.22: plan published (revision 1)." in done.stdout
    assert sorted(day.isoformat() for pid in programmes for _, day in bookings(system, pid)) == days
