"""Scheduling's plan use cases against a real PostgreSQL (a fresh database for this module, migrated
to head, dropped afterwards) with the real planner, run in-process instead of in a CpuPool worker:
preview, publish, the events, re-plans after changes, manual moves and locks, and a resource
person who can never be booked twice on a day by two regencies."""
from __future__ import annotations

import threading
import uuid
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bimtek_shared.contracts.caller import Caller
from bimtek_shared.contracts.envelope import EventEnvelope, new_event
from bimtek_shared.contracts.errors import DomainError
from bimtek_shared.persistence.messaging_tables import MessagingTables
from scheduling.adapters.orm import metadata
from scheduling.domain.planning import PlannedSession
from scheduling.domain.plans import compare
from scheduling.service_layer import handlers, plans, programmes
from scheduling.service_layer.commands import (
    ListSessions, NewProgramme, NewResourcePerson, NewVenue, PlanTogether, PublishTogether, VenueChanges,
    parse_command,
)
from scheduling.service_layer.unit_of_work import SchedulingUnitOfWork
from tests.support.databases import migrated_sessions

pytestmark = pytest.mark.integration

UNIT = Path(__file__).resolve().parents[2]
TOPICS = [{"topic": "Perkoperasian dan tata kelola KDMP", "hours": 4},
          {"topic": "Manajemen usaha dan keuangan koperasi", "hours": 4}]
OCTOBER = [{"start": "2025-10-01", "end": "2025-10-31"}]
REPLANS = "scheduling.handle_replan_requested"


def in_process(fn, *args):
    """What CpuRunner.run does, without the worker process."""
    return fn(*args)


@pytest.fixture(scope="module")
def sessions():
    with migrated_sessions(UNIT, "sched_plans", pool_size=6) as made:
        yield made


@pytest.fixture
def new_uow(sessions):
    messaging = MessagingTables(outbox=metadata.tables["outbox"], processed_events=metadata.tables["processed_events"])
    return lambda: SchedulingUnitOfWork(sessions, messaging, correlation_id=f"test-{uuid.uuid4().hex[:8]}")


def operator(regency: str) -> Caller:
    return Caller(user=f"operator-{regency}", role="operator", regency=regency, correlation_id="test")


PROVINCE = Caller(user="province", role="province_admin", regency="*", correlation_id="test")


# -- the world a plan is made from ----------------------------------------------------------------
class Regency:
    """Cooperatives and their teams of one regency, told to scheduling by registration's events."""

    def __init__(self, new_uow, code: str) -> None:
        self.new_uow, self.code = new_uow, code
        self.members: dict[uuid.UUID, list[uuid.UUID]] = {}

    def cooperative(self, district: str, people: int) -> uuid.UUID:
        cooperative_id = uuid.uuid4()
        village = f"{self.code}.{district}.{2000 + len(self.members) + 1:04d}"
        handlers.record_cooperatives(self.new_uow(), [new_event("cooperative.registered", {
            "cooperative_id": str(cooperative_id), "name": f"Koperasi Desa Merah Putih {village}", "villages": [village],
            "districts": [f"{self.code}.{district}"], "version": 1, "registered_at": _now()},
            regency=self.code, correlation_id="test")], "scheduling.handle_cooperative_registered")
        self.members[cooperative_id] = []
        self.join(cooperative_id, people)
        return cooperative_id

    def join(self, cooperative_id: uuid.UUID, people: int) -> list[uuid.UUID]:
        newcomers = [uuid.uuid4() for _ in range(people)]
        handlers.record_imported_participants(self.new_uow(), [new_event("participants.imported", {
            "job_id": str(uuid.uuid4()), "participants": [
                {"participant_id": str(pid), "full_name": "Peserta Uji", "sex": "L", "position_group": "pengurus",
                 "position": "anggota_pengurus", "cooperative_id": str(cooperative_id), "registered_at": _now()}
                for pid in newcomers]}, regency=self.code, correlation_id="test")],
            "scheduling.handle_participants_imported")
        self.members[cooperative_id] += newcomers
        return newcomers


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


def programme(new_uow, regency: str, **overrides: Any) -> dict[str, Any]:
    body = {"regency": regency, "title": f"Bimtek Perkoperasian KDMP {regency} 2025", "topics": TOPICS,
            "days_per_session": 1, "window_start": "2025-10-01", "window_end": "2025-10-31", "min_attendance_days": 1,
            **overrides}
    return programmes.create_programme(new_uow(), operator(regency), parse_command(NewProgramme, body))


def venue(new_uow, regency: str, capacity: int, name: str = "Ruang Bung Tomo") -> dict[str, Any]:
    return programmes.create_venue(new_uow(), operator(regency), parse_command(NewVenue, {
        "regency": regency, "name": name, "capacity": capacity, "available": OCTOBER}))


def resource_person(new_uow, name: str, available=OCTOBER, topics=TOPICS) -> dict[str, Any]:
    return programmes.create_resource_person(new_uow(), PROVINCE, parse_command(NewResourcePerson, {
        "name": name, "topics": [t["topic"] for t in topics], "available": available}))


def query(new_uow, sql: str, **params: Any) -> list[Any]:
    uow = new_uow()
    with uow:
        return list(uow.session.execute(text(sql), params))


def outbox(new_uow, since: int = 0) -> Counter:
    return Counter(row[0] for row in query(new_uow, "SELECT event_type FROM outbox WHERE id > :since", since=since))


def assigned_seats(new_uow, since: int = 0) -> int:
    """How many seats the ``participants.assigned`` events since ``since`` carry."""
    return query(new_uow, "SELECT coalesce(sum(jsonb_array_length(envelope->'payload'->'seats')), 0) FROM outbox "
                          "WHERE id > :since AND event_type = 'participants.assigned'", since=since)[0][0]


def last_outbox_id(new_uow) -> int:
    return query(new_uow, "SELECT coalesce(max(id), 0) FROM outbox")[0][0]


def replan_events(new_uow, programme_id: str, since: int) -> list[EventEnvelope]:
    rows = query(new_uow, "SELECT envelope FROM outbox WHERE id > :since AND event_type = 'programme.replan_requested' "
                          "AND envelope->'payload'->>'programme_id' = :pid ORDER BY id", since=since, pid=programme_id)
    return [EventEnvelope.model_validate(row[0]) for row in rows]


def seats(new_uow, programme_id: str) -> dict[uuid.UUID, uuid.UUID]:
    return dict(query(new_uow, "SELECT participant_id, session_id FROM assignments WHERE programme_id = :pid",
                      pid=programme_id))


@pytest.fixture
def two_persons(new_uow):
    return [resource_person(new_uow, f"Narasumber {uuid.uuid4().hex[:6]}") for _ in range(2)]


# -- the tests --------------------------------------------------------------------------------------------
def test_a_preview_is_published_exactly_and_announced(new_uow, two_persons):
    region = Regency(new_uow, "35.71")
    for district, teams in (("01", 3), ("02", 2), ("03", 4)):
        for _ in range(teams):
            region.cooperative(district, 8)
    hall = venue(new_uow, "35.71", capacity=30)
    jombang = programme(new_uow, "35.71")
    preview = plans.preview_plan(new_uow(), operator("35.71"), in_process, jombang["id"])

    figures = preview["figures"]
    assert figures["sessions"] == figures["sessions_lower_bound"] == 3  # 72 people, 30 seats
    assert preview["participants"] == 72 and preview["unplaced"] == []
    assert preview["status"] == "preview" and all(s["why"] and s["reasons"] for s in preview["sessions"])
    assert {s["venue"]["name"] for s in preview["sessions"]} == {hall["name"]}
    assert all(date.fromisoformat(d).weekday() < 5 for s in preview["sessions"] for d in s["days"])
    assert plans.get_plan_preview(new_uow(), operator("35.71"), jombang["id"], preview["id"])["sessions"] \
        == preview["sessions"]
    again = plans.preview_plan(new_uow(), operator("35.71"), in_process, jombang["id"])  # deterministic
    assert again["id"] != preview["id"] and again["sessions"] == preview["sessions"]
    fingerprints = query(new_uow, "SELECT DISTINCT fingerprint FROM plans WHERE programme_id = :pid", pid=jombang["id"])
    assert len(fingerprints) == 1
    with pytest.raises(DomainError) as not_yet:
        plans.get_plan(new_uow(), operator("35.71"), jombang["id"])
    assert not_yet.value.code == "plan_not_found"

    before = last_outbox_id(new_uow)
    published = plans.publish_plan(new_uow(), operator("35.71"), jombang["id"], preview["id"])

    assert published["status"] == "published" and published["revision"] == 1
    assert [(s["id"], s["days"], s["cooperatives"]) for s in published["sessions"]] == \
           [(s["id"], s["days"], s["cooperatives"]) for s in preview["sessions"]]
    assert outbox(new_uow, before) == {"programme.published": 1, "session.scheduled": 3, "participants.assigned": 1}
    assert assigned_seats(new_uow, before) == 72
    venue_names = query(new_uow, "SELECT envelope->'payload'->>'venue_name' FROM outbox WHERE id > :since "
                                 "AND event_type = 'session.scheduled'", since=before)
    assert [row[0] for row in venue_names] == [hall["name"]] * 3  # what certificates print
    seated = seats(new_uow, jombang["id"])
    assert set(seated) == {p for people in region.members.values() for p in people}
    for cooperative, people in region.members.items():  # a team sits together
        assert len({seated[p] for p in people}) == 1
    booked = query(new_uow, "SELECT person_id, day FROM resource_person_days WHERE programme_id = :pid",
                   pid=jombang["id"])
    assert len(booked) == len(set(booked)) >= 3
    # Publishing the same preview again answers the plan and does nothing more.
    again = plans.publish_plan(new_uow(), operator("35.71"), jombang["id"], preview["id"])
    assert again["revision"] == 1 and assigned_seats(new_uow, before) == 72

    session = plans.get_session(new_uow(), operator("35.71"), published["sessions"][0]["id"])
    assert session["seated"] == session["participants"] == sum(t["participants"] for t in session["teams"])
    listed = plans.list_sessions(new_uow(), operator("35.71"), parse_command(ListSessions, {"limit": 2}))
    assert len(listed["items"]) == 2 and listed["next_cursor"]
    with pytest.raises(DomainError) as elsewhere:
        plans.get_session(new_uow(), operator("35.17"), published["sessions"][0]["id"])
    assert elsewhere.value.code == "session_not_found"


def test_a_preview_is_not_published_once_its_inputs_changed(new_uow, two_persons):
    region = Regency(new_uow, "35.72")
    cooperative = region.cooperative("01", 8)
    venue(new_uow, "35.72", capacity=50)
    batu = programme(new_uow, "35.72")
    stale = plans.preview_plan(new_uow(), operator("35.72"), in_process, batu["id"])
    region.join(cooperative, 1)  # a late registration

    with pytest.raises(DomainError) as refused:
        plans.publish_plan(new_uow(), operator("35.72"), batu["id"], stale["id"])
    assert refused.value.code == "plan_preview_outdated"

    fresh = plans.preview_plan(new_uow(), operator("35.72"), in_process, batu["id"])
    assert plans.publish_plan(new_uow(), operator("35.72"), batu["id"], fresh["id"])["participants"] == 9
    with pytest.raises(DomainError) as superseded:
        plans.publish_plan(new_uow(), operator("35.72"), batu["id"], stale["id"])
    assert superseded.value.code == "plan_preview_outdated"


def test_changes_after_publication_replan_and_move_only_what_they_touch(new_uow, two_persons):
    region = Regency(new_uow, "35.73")
    teams = [region.cooperative(district, 8) for district in ("01", "01", "02", "02", "03", "03")]
    venue(new_uow, "35.73", capacity=20)  # 48 people: 3 sessions with 4 seats to spare in each
    malang = programme(new_uow, "35.73")
    preview = plans.preview_plan(new_uow(), operator("35.73"), in_process, malang["id"])
    plans.publish_plan(new_uow(), operator("35.73"), malang["id"], preview["id"])
    before = seats(new_uow, malang["id"])

    mark = last_outbox_id(new_uow)
    late = region.join(teams[2], 1)[0]  # the consumer stores them and asks for a re-plan
    region.join(teams[3], 1)  # a second change before the re-plan runs: counted, not announced again
    requested = replan_events(new_uow, malang["id"], mark)
    assert len(requested) == 1
    assert plans.get_plan(new_uow(), operator("35.73"), malang["id"])["replan_pending"] is True

    assert plans.run_requested_replans(new_uow(), in_process, requested, REPLANS) == 1
    after = seats(new_uow, malang["id"])
    assert {p: s for p, s in after.items() if p in before} == before  # nobody else moved
    assert after[late] == before[region.members[teams[2]][0]]  # the late member joined their team
    events = outbox(new_uow, mark)
    assert assigned_seats(new_uow, mark) == 2 and events["session.scheduled"] == 0
    assert events["programme.published"] == 1 and events["session.rescheduled"] >= 1
    plan = plans.get_plan(new_uow(), operator("35.73"), malang["id"])
    assert plan["revision"] == 2 and plan["replan_pending"] is False
    # The event again (a redelivery) changes nothing.
    assert plans.run_requested_replans(new_uow(), in_process, requested, REPLANS) == 0

    # A withdrawal frees the seat; nobody else moves.
    mark = last_outbox_id(new_uow)
    leaving = region.members[teams[0]][0]
    handlers.record_participant_changes(new_uow(), [new_event("participant.withdrawn", {
        "participant_id": str(leaving), "version": 2, "full_name": "Peserta Uji", "sex": "L",
        "position_group": "pengurus", "position": "anggota_pengurus", "cooperative_id": str(teams[0]),
        "registered_at": _now(), "reason": "resigned", "withdrawn_at": _now()},
        regency="35.73", correlation_id="test")], "scheduling.handle_participant_withdrawn")
    plans.run_requested_replans(new_uow(), in_process, replan_events(new_uow, malang["id"], mark), REPLANS)
    now = seats(new_uow, malang["id"])
    assert leaving not in now and {p: s for p, s in now.items() if p != leaving} == \
           {p: s for p, s in after.items() if p != leaving}
    assert assigned_seats(new_uow, mark) == 0
    # ...and says so: registration's read of them must not keep the seat.
    unassigned = query(new_uow, "SELECT envelope->'payload' FROM outbox WHERE id > :since "
                                "AND event_type = 'participants.unassigned'", since=mark)
    assert [(row[0]["participant_ids"], row[0]["revision"]) for row in unassigned] == [([str(leaving)], 3)]


def test_a_late_member_of_a_full_session_sits_in_the_next_session_with_room(new_uow, two_persons):
    region = Regency(new_uow, "35.81")
    teams = [region.cooperative(district, 8) for district in ("01", "01", "02", "02", "03")]
    venue(new_uow, "35.81", capacity=16)  # 40 people: two full sessions and one of 8
    programme_ = programme(new_uow, "35.81")
    preview = plans.preview_plan(new_uow(), operator("35.81"), in_process, programme_["id"])
    published = plans.publish_plan(new_uow(), operator("35.81"), programme_["id"], preview["id"])
    before = seats(new_uow, programme_["id"])
    team_session = before[region.members[teams[0]][0]]
    assert next(s for s in published["sessions"] if s["id"] == str(team_session))["participants"] == 16

    mark = last_outbox_id(new_uow)
    late = region.join(teams[0], 1)[0]
    plans.run_requested_replans(new_uow(), in_process, replan_events(new_uow, programme_["id"], mark), REPLANS)

    after = seats(new_uow, programme_["id"])
    assert {p: s for p, s in after.items() if p != late} == before
    assert after[late] != team_session  # no room with the team: the next session with room
    plan = plans.get_plan(new_uow(), operator("35.81"), programme_["id"])
    assert all(s["participants"] <= 16 for s in plan["sessions"])
    held = query(new_uow, "SELECT session_id, participants FROM session_cooperatives WHERE cooperative_id = :c",
                 c=teams[0])
    assert dict(held) == {team_session: 8, after[late]: 1}  # the split, as the next re-plan will start from it
    assert any(r["code"] == "late_member_split" for s in plan["sessions"] for r in s["reasons"])


def test_a_lost_venue_day_moves_only_that_session(new_uow, two_persons):
    region = Regency(new_uow, "35.74")
    for district in ("01", "02", "03"):
        region.cooperative(district, 8)
    hall = venue(new_uow, "35.74", capacity=10)
    programme_ = programme(new_uow, "35.74")
    preview = plans.preview_plan(new_uow(), operator("35.74"), in_process, programme_["id"])
    published = plans.publish_plan(new_uow(), operator("35.74"), programme_["id"], preview["id"])
    lost = date.fromisoformat(published["sessions"][1]["days"][0])

    mark = last_outbox_id(new_uow)
    programmes.update_venue(new_uow(), operator("35.74"), hall["id"], parse_command(VenueChanges, {"available": [
        {"start": "2025-10-01", "end": (lost - timedelta(days=1)).isoformat()},
        {"start": (lost + timedelta(days=1)).isoformat(), "end": "2025-10-31"}]}))
    plans.run_requested_replans(new_uow(), in_process, replan_events(new_uow, programme_["id"], mark), REPLANS)

    after = {s["id"]: s for s in plans.get_plan(new_uow(), operator("35.74"), programme_["id"])["sessions"]}
    moved = published["sessions"][1]
    assert lost.isoformat() not in after[moved["id"]]["days"]
    assert after[moved["id"]]["cooperatives"] == moved["cooperatives"]  # same people, another day
    for session in published["sessions"]:
        if session["id"] != moved["id"]:
            assert after[session["id"]]["days"] == session["days"]
    assert outbox(new_uow, mark)["session.rescheduled"] == 1 and assigned_seats(new_uow, mark) == 0


def test_a_cooperative_moved_by_hand_stays_and_a_locked_session_keeps_its_people(new_uow, two_persons):
    region = Regency(new_uow, "35.75")
    for district in ("01", "02", "03", "04", "05", "06", "07"):
        region.cooperative(district, 1)
    venue(new_uow, "35.75", capacity=4)  # 7 people: 2 sessions, one of them with room
    programme_ = programme(new_uow, "35.75")
    preview = plans.preview_plan(new_uow(), operator("35.75"), in_process, programme_["id"])
    published = plans.publish_plan(new_uow(), operator("35.75"), programme_["id"], preview["id"])
    assert len(published["sessions"]) == 2
    roomy, full = sorted(published["sessions"], key=lambda s: s["participants"])
    assert roomy["participants"] < 4
    mover = uuid.UUID(full["cooperatives"][0]["id"])

    moved = plans.move_cooperative(new_uow(), operator("35.75"), in_process, str(mover), roomy["id"])
    assert str(mover) in {t["cooperative_id"] for t in moved["teams"]}
    assert all(seats(new_uow, programme_["id"])[p] == uuid.UUID(roomy["id"]) for p in region.members[mover])
    assert query(new_uow, "SELECT count(*) FROM pins WHERE cooperative_id = :c", c=mover) == [(1,)]

    locked = plans.set_session_lock(new_uow(), operator("35.75"), roomy["id"], locked=True)
    assert locked["locked"] is True
    stayer = next(uuid.UUID(c["id"]) for c in full["cooperatives"] if uuid.UUID(c["id"]) != mover)
    with pytest.raises(DomainError) as refused:
        plans.move_cooperative(new_uow(), operator("35.75"), in_process, str(stayer), roomy["id"])
    assert refused.value.code == "session_locked"
    # A re-plan after a late cooperative leaves the locked session exactly as it is.
    mark = last_outbox_id(new_uow)
    region.cooperative("08", 1)
    plans.run_requested_replans(new_uow(), in_process, replan_events(new_uow, programme_["id"], mark), REPLANS)
    after = {s["id"]: s for s in plans.get_plan(new_uow(), operator("35.75"), programme_["id"])["sessions"]}
    assert after[roomy["id"]]["cooperatives"] == moved["cooperatives"] and after[roomy["id"]]["days"] == roomy["days"]
    assert plans.set_session_lock(new_uow(), operator("35.75"), roomy["id"], locked=False)["locked"] is False


def test_only_planners_plan_and_only_their_own_regency(new_uow):
    region = Regency(new_uow, "35.76")
    region.cooperative("01", 8)
    programme_ = programme(new_uow, "35.76")
    trainer = Caller(user="t", role="trainer", regency="35.76", correlation_id="test")
    for caller, code in ((trainer, "forbidden"), (operator("35.17"), "programme_not_found")):
        with pytest.raises(DomainError) as refused:
            plans.preview_plan(new_uow(), caller, in_process, programme_["id"])
        assert refused.value.code == code
    assert programmes.get_programme(new_uow(), trainer, programme_["id"])["title"] == programme_["title"]
    with pytest.raises(DomainError) as not_province:
        programmes.create_resource_person(new_uow(), operator("35.76"), parse_command(NewResourcePerson, {
            "name": "Narasumber", "topics": ["Perkoperasian"], "available": OCTOBER}))
    assert not_province.value.code == "forbidden"


def _single_day_regency(new_uow, code: str, person_day: str, topics: list[dict]) -> tuple[str, dict[str, Any]]:
    """A regency with one team, a hall, a programme of one day's window, previewed."""
    Regency(new_uow, code).cooperative("01", 8)
    venue(new_uow, code, capacity=40)
    programme_ = programme(new_uow, code, window_start=person_day, window_end=person_day, topics=topics)
    return programme_["id"], plans.preview_plan(new_uow(), operator(code), in_process, programme_["id"])


def test_a_resource_person_is_never_booked_twice_on_a_day_across_regencies(new_uow):
    day = "2025-10-08"
    topics = [{"topic": f"Topik khusus {uuid.uuid4().hex[:6]}", "hours": 8}]  # only this person teaches it
    only = resource_person(new_uow, "Satu-satunya Narasumber", available=[{"start": day, "end": day}], topics=topics)
    first_id, first_preview = _single_day_regency(new_uow, "35.77", day, topics)
    second_id, second_preview = _single_day_regency(new_uow, "35.78", day, topics)
    assert [s["days"] for s in first_preview["sessions"]] == [[day]] == [s["days"] for s in second_preview["sessions"]]

    # Both previews hold the same person on the same day; both regencies publish at once.
    outcomes: dict[str, Any] = {}
    start = threading.Barrier(2)

    def publish(code: str, programme_id: str, preview_id: str) -> None:
        start.wait()
        try:
            outcomes[code] = plans.publish_plan(new_uow(), operator(code), programme_id, preview_id)["status"]
        except DomainError as exc:
            outcomes[code] = exc.code

    threads = [threading.Thread(target=publish, args=args) for args in
               (("35.77", first_id, first_preview["id"]), ("35.78", second_id, second_preview["id"]))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    published = [code for code, outcome in outcomes.items() if outcome == "published"]
    refused = [outcome for outcome in outcomes.values() if outcome != "published"]
    assert len(published) == 1 and len(refused) == 1, outcomes
    # Refused by the fingerprint if the winner committed first, else by the primary key.
    assert refused[0] in ("plan_preview_outdated", "resource_person_double_booked"), outcomes
    assert query(new_uow, "SELECT count(*) FROM resource_person_days WHERE person_id = :p", p=only["id"]) == [(1,)]

    # A fresh preview of the loser sees the day taken: nobody can teach it, so it places nobody.
    loser = next(code for code, outcome in outcomes.items() if outcome != "published")
    loser_id = first_id if loser == "35.77" else second_id
    again = plans.preview_plan(new_uow(), operator(loser), in_process, loser_id)
    assert again["sessions"] == [] and again["unplaced"]


def test_the_database_refuses_a_second_booking_whatever_the_use_case_checked(new_uow):
    """The last line of defence under a race: the primary key of resource_person_days."""
    person = resource_person(new_uow, "Narasumber Kunci")
    day = date(2025, 10, 9)
    for code in ("35.79", "35.80"):
        venue(new_uow, code, capacity=10)
    first, second = programme(new_uow, "35.79"), programme(new_uow, "35.80")

    def book(programme_: dict[str, Any]) -> None:
        uow = new_uow()
        with uow:
            venue_id = query(new_uow, "SELECT id FROM venues WHERE regency = :r", r=programme_["regency"])[0][0]
            session = PlannedSession(id=uuid.uuid4(), programme_id=uuid.UUID(programme_["id"]),
                                     regency=programme_["regency"], number=1, days=(day,), venue_id=venue_id,
                                     resource_person_ids=(uuid.UUID(person["id"]),), cooperative_ids=(),
                                     participants=0)
            changes = compare([], [session], {}, {})
            uow.plans.apply(uuid.UUID(programme_["id"]), changes, [session], {}, {}, 1, datetime.now(timezone.utc))
            uow.commit()

    book(first)
    with pytest.raises(DomainError) as refused:
        book(second)
    assert refused.value.code == "resource_person_double_booked"


# -- several programmes together --------------------------------------------------------------------------
def _regency_with_teams(new_uow, code: str, teams: int, topics: list[dict]) -> str:
    region = Regency(new_uow, code)
    for number in range(teams):
        region.cooperative(f"0{1 + number % 3}", 8)
    venue(new_uow, code, capacity=40)
    return programme(new_uow, code, topics=topics)["id"]


def test_programmes_planned_together_share_their_resource_persons_and_publish_in_one_go(new_uow):
    topics = [{"topic": f"Topik bersama {uuid.uuid4().hex[:6]}", "hours": 8}]  # only this person teaches it
    days = [{"start": "2025-10-13", "end": "2025-10-14"}]  # two days for two regencies
    only = resource_person(new_uow, "Narasumber Bersama", available=days, topics=topics)
    first, second = (_regency_with_teams(new_uow, code, 4, topics) for code in ("35.91", "35.92"))
    # Apart, each regency's preview takes the person's first day.
    apart = [plans.preview_plan(new_uow(), PROVINCE, in_process, pid)["sessions"][0]["days"] for pid in (first, second)]
    assert apart == [["2025-10-13"], ["2025-10-13"]]

    together = plans.preview_plans(new_uow(), PROVINCE, in_process,
                                   parse_command(PlanTogether, {"programme_ids": [first, second]}))["previews"]

    assert [p["programme_id"] for p in together] == [first, second]
    assert [(p["regency"], p["status"], p["session_count"], p["participants"]) for p in together] == \
           [("35.91", "preview", 1, 32), ("35.92", "preview", 1, 32)]
    stored = [plans.get_plan_preview(new_uow(), PROVINCE, pid, p["id"]) for pid, p in zip((first, second), together)]
    assert sorted(s["sessions"][0]["days"][0] for s in stored) == ["2025-10-13", "2025-10-14"]
    assert all(s["sessions"][0]["resource_persons"][0]["id"] == only["id"] for s in stored)

    before = last_outbox_id(new_uow)
    ids = [p["id"] for p in together]
    publish = parse_command(PublishTogether, {"preview_ids": ids})
    published = plans.publish_plans(new_uow(), PROVINCE, publish)["plans"]

    assert [(p["id"], p["status"], p["revision"]) for p in published] == [(ids[0], "published", 1),
                                                                           (ids[1], "published", 1)]
    assert outbox(new_uow, before) == {"programme.published": 2, "session.scheduled": 2, "participants.assigned": 2}
    assert assigned_seats(new_uow, before) == 64
    assert len(seats(new_uow, first)) == len(seats(new_uow, second)) == 32
    assert sorted(row[0].isoformat() for row in query(
        new_uow, "SELECT day FROM resource_person_days WHERE person_id = :p", p=only["id"])) == ["2025-10-13",
                                                                                               "2025-10-14"]
    assert [plans.get_plan(new_uow(), PROVINCE, pid)["id"] for pid in (first, second)] == ids
    # A retry publishes nothing twice.
    again = plans.publish_plans(new_uow(), PROVINCE, publish)["plans"]
    assert again == published and last_outbox_id(new_uow) - before == 6


def test_plans_made_together_are_published_all_or_none(new_uow, two_persons):
    first, second = (_regency_with_teams(new_uow, code, 2, TOPICS) for code in ("35.93", "35.94"))
    previews = plans.preview_plans(new_uow(), PROVINCE, in_process,
                                   parse_command(PlanTogether, {"programme_ids": [first, second]}))["previews"]
    late = Regency(new_uow, "35.94")
    late.cooperative("01", 8)  # a new team in the second regency
    before = last_outbox_id(new_uow)

    with pytest.raises(DomainError) as refused:
        plans.publish_plans(new_uow(), PROVINCE, parse_command(PublishTogether, {
            "preview_ids": [p["id"] for p in previews]}))
    assert refused.value.code == "plan_preview_outdated"
    assert last_outbox_id(new_uow) == before and seats(new_uow, first) == {}  # not even the unchanged one

    # The unchanged regency's preview is an ordinary one: it may still be published alone.
    alone = plans.publish_plan(new_uow(), PROVINCE, first, previews[0]["id"])
    assert alone["status"] == "published" and alone["participants"] == 16


def test_planning_together_is_refused_outside_the_callers_regency_and_for_repeats(new_uow):
    own, foreign = (_regency_with_teams(new_uow, code, 1, TOPICS) for code in ("35.95", "35.96"))
    trainer = Caller(user="t", role="trainer", regency="35.95", correlation_id="test")
    cases = [(operator("35.95"), [own, foreign], "programme_not_found"), (trainer, [own], "forbidden"),
             (PROVINCE, [own, own], "plan_programmes_repeated")]
    for caller, ids, code in cases:
        with pytest.raises(DomainError) as refused:
            plans.preview_plans(new_uow(), caller, in_process, parse_command(PlanTogether, {"programme_ids": ids}))
        assert refused.value.code == code
    second_own = programme(new_uow, "35.95")["id"]  # two programmes of one regency
    with pytest.raises(DomainError) as same_regency:
        plans.preview_plans(new_uow(), PROVINCE, in_process,
                            parse_command(PlanTogether, {"programme_ids": [own, second_own]}))
    assert same_regency.value.code == "plan_programmes_repeated"
    mine = plans.preview_plans(new_uow(), operator("35.95"), in_process,
                               parse_command(PlanTogether, {"programme_ids": [own]}))["previews"]
    with pytest.raises(DomainError) as not_theirs:
        plans.publish_plans(new_uow(), operator("35.96"), parse_command(PublishTogether, {
            "preview_ids": [mine[0]["id"]]}))
    assert not_theirs.value.code == "programme_not_found"
    with pytest.raises(DomainError) as unknown:
        plans.publish_plans(new_uow(), PROVINCE, parse_command(PublishTogether, {"preview_ids": [str(uuid.uuid4())]}))
    assert unknown.value.code == "plan_preview_not_found"
