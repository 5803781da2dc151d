"""The planner on cases one can check by hand, and on the real Jombang (35.17) structure."""
import csv
import uuid
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

from scheduling.adapters.calendar import non_working_days
from scheduling.domain.planner import plan, session_id
from scheduling.domain.planning import (
    PlanningProblem,
    Previous,
    Programme,
    ResourcePerson,
    Team,
    Venue,
)

REGIONS = Path(__file__).resolve().parents[3] / "registration" / "registration" / "reference_data" / "regions" / "35"
NS = uuid.UUID("6f1d2c3e-0000-4000-8000-000000000000")
TOPICS = (("Kelembagaan dan tata kelola", 4), ("Manajemen usaha", 4), ("Akuntansi", 4), ("Digitalisasi", 4))
OCTOBER = (date(2025, 10, 1), date(2025, 10, 31))


def an_id(name: str) -> uuid.UUID:
    return uuid.uuid5(NS, name)


def days(start: date, end: date) -> frozenset[date]:
    return frozenset(start + timedelta(days=i) for i in range((end - start).days + 1))


def programme(regency: str, window=OCTOBER, topics=TOPICS, days_per_session=1) -> Programme:
    return Programme(an_id(f"programme {regency}"), regency, "Bimtek Pengurus KDMP", topics, days_per_session,
                     window[0], window[1], days_per_session)


def hall(regency: str, capacity=250, window=OCTOBER) -> Venue:
    return Venue(an_id(f"hall {regency}"), regency, f"Pendopo {regency}", capacity, days(*window))


def person(name: str, topics, window=OCTOBER) -> ResourcePerson:
    return ResourcePerson(an_id(name), name, frozenset(topics), days(*window))


def two_persons(window=OCTOBER) -> tuple[ResourcePerson, ...]:
    # Each covers half the curriculum: every session needs both.
    return (person("Narasumber Kelembagaan", ["Kelembagaan dan tata kelola", "Manajemen usaha"], window),
            person("Narasumber Keuangan", ["Akuntansi", "Digitalisasi"], window))


def teams_of(regency: str, sizes: dict[str, list[int]]) -> tuple[Team, ...]:
    return tuple(Team(an_id(f"{district}/{k}"), regency, district, size, f"Koperasi {district}/{k}")
                 for district, team_sizes in sizes.items() for k, size in enumerate(team_sizes))


def jombang_problem() -> PlanningProblem:
    with open(REGIONS / "villages.csv", newline="") as f:
        villages = [row for row in csv.DictReader(f) if row["district_code"].startswith("35.17.")]
    teams = tuple(Team(an_id(v["code"]), "35.17", v["district_code"], 8, f"Koperasi Desa Merah Putih {v['name']}")
                  for v in villages)
    return PlanningProblem((programme("35.17"),), teams, (hall("35.17"),), two_persons(),
                           non_working_days(*OCTOBER))


def where(result) -> dict[uuid.UUID, list[uuid.UUID]]:
    placed: dict[uuid.UUID, list[uuid.UUID]] = {}
    for s in result.sessions:
        for c in s.cooperative_ids:
            placed.setdefault(c, []).append(s.id)
    return placed


# -- Jombang ---------------------------------------------------------------------------------
def test_jombang_takes_the_lower_bound_of_ten_sessions_splits_few_kecamatan_and_ends_in_october():
    problem = jombang_problem()
    with open(REGIONS / "districts.csv", newline="") as f:
        kecamatan = {row["code"] for row in csv.DictReader(f) if row["regency_code"] == "35.17"}
    assert len(problem.teams) == 306 and len(kecamatan) == 21

    result = plan(problem)

    figures = result.figures["35.17"]
    assert (figures.sessions, figures.sessions_lower_bound) == (10, 10)  # 2,448 / 250 rounded up
    assert figures.districts_split <= 2
    # one hall and both persons in every session: one session a working day from 1 October
    assert figures.finish == date(2025, 10, 14)
    assert figures.shared_sessions_with_non_neighbours <= figures.sessions
    assert not result.unplaced
    assert sorted(c for s in result.sessions for c in s.cooperative_ids) == sorted(t.cooperative_id for t in problem.teams)
    assert all(s.participants <= 250 and len(s.resource_person_ids) == 2 for s in result.sessions)
    parts = {p["district"] for s in result.sessions for code, p in s.reasons if code == "district_part"}
    assert len(parts) == figures.districts_split
    named = {p["district"] for s in result.sessions for code, p in s.reasons if code.startswith("district_")}
    assert named == kecamatan
    first = result.sessions[0]
    assert first.number == 1 and first.days == (date(2025, 10, 1),)
    assert any("hari kerja paling awal" in line for line in first.why)


def test_a_preview_and_its_publish_are_the_same_plan_with_the_same_session_ids():
    preview, publish = plan(jombang_problem()), plan(jombang_problem())

    assert preview == publish
    assert [s.id for s in publish.sessions] == [session_id(an_id("programme 35.17"), n) for n in range(1, 11)]


def test_a_late_member_of_a_full_session_sits_in_the_next_session_with_room_and_the_split_is_explained():
    problem = jombang_problem()
    published = plan(problem)
    full = next(s for s in published.sessions if 250 - s.participants < 8)
    late_team = full.cooperative_ids[0]
    grown = tuple(replace(t, participants=16) if t.cooperative_id == late_team else t for t in problem.teams)

    result = plan(replace(problem, teams=grown, previous=Previous(published.sessions)))

    holding = [s for s in result.sessions if late_team in s.cooperative_ids]
    assert [s.id for s in holding][0] == full.id and len(holding) == 2
    assert dict(holding[0].seats)[late_team] == 8 and dict(holding[1].seats)[late_team] == 8
    assert holding[1].days > holding[0].days
    assert result.moved == (late_team,)
    assert any(code == "late_member_split" for code, _ in holding[1].reasons)
    assert any("anggota baru" in line for line in holding[1].why)
    unchanged = {s.id: s.cooperative_ids for s in published.sessions if s.id not in {h.id for h in holding}}
    assert all(s.cooperative_ids == unchanged[s.id] for s in result.sessions if s.id in unchanged)


def test_a_late_cooperative_joins_a_session_holding_its_kecamatan_when_it_has_room():
    problem = jombang_problem()
    published = plan(problem)
    roomy = max(published.sessions, key=lambda s: 250 - s.participants)
    district = sorted({t.district for t in problem.teams if t.cooperative_id in roomy.cooperative_ids})[-1]
    late = Team(an_id("late"), "35.17", district, 8, "Koperasi Desa Merah Putih Baru")

    result = plan(replace(problem, teams=problem.teams + (late,), previous=Previous(published.sessions)))

    assert where(result)[late.cooperative_id] == [roomy.id]
    assert result.moved == ()
    assert where(result) | {late.cooperative_id: []} == where(published) | {late.cooperative_id: []}


# -- working days, neighbours, resource persons ----------------------------------------------
def test_weekends_national_holidays_and_cuti_bersama_are_skipped():
    window = (date(2025, 3, 27), date(2025, 4, 30))  # Nyepi and Idul Fitri, with their cuti bersama
    teams = teams_of("35.17", {f"35.17.{d:02d}": [8] * 5 for d in range(1, 5)})
    problem = PlanningProblem((programme("35.17", window),), teams, (hall("35.17", 40, window),),
                              two_persons(window), non_working_days(*window))

    result = plan(problem)

    assert [s.days[0] for s in result.sessions] == [date(2025, 3, 27), date(2025, 4, 8), date(2025, 4, 9),
                                                    date(2025, 4, 10)]


def test_kecamatan_share_sessions_with_their_neighbours_from_the_regency_list_else_in_code_order():
    teams = teams_of("35.17", {f"35.17.{d:02d}": [8] * 5 for d in range(1, 5)})  # 4 x 40, hall of 80
    problem = PlanningProblem((programme("35.17"),), teams, (hall("35.17", 80),), two_persons(), frozenset())
    district = {t.cooperative_id: t.district for t in teams}

    def groups(result):
        return [sorted({district[c] for c in s.cooperative_ids}) for s in result.sessions]

    by_code = plan(problem)
    by_list = plan(replace(problem, neighbours=frozenset({("35.17.01", "35.17.03"), ("35.17.03", "35.17.01"),
                                                          ("35.17.02", "35.17.04"), ("35.17.04", "35.17.02")})))

    assert groups(by_code) == [["35.17.01", "35.17.02"], ["35.17.03", "35.17.04"]]
    assert all("code_order" in dict(s.reasons) for s in by_code.sessions)
    assert groups(by_list) == [["35.17.01", "35.17.03"], ["35.17.02", "35.17.04"]]
    assert all("neighbours" in dict(s.reasons) for s in by_list.sessions)
    assert by_list.figures["35.17"].shared_sessions_with_non_neighbours == 0


def test_resource_persons_shared_by_regencies_are_never_booked_twice_on_a_day():
    only = person("Satu-satunya narasumber", [t for t, _ in TOPICS])
    teams = teams_of("35.17", {"35.17.01": [8] * 3}) + teams_of("35.18", {"35.18.01": [8] * 3})
    already = date(2025, 10, 1)
    problem = PlanningProblem((programme("35.17"), programme("35.18")), teams, (hall("35.17"), hall("35.18")),
                              (only,), frozenset(), booked=((only.id, already),))

    result = plan(problem)

    assert sorted(s.days[0] for s in result.sessions) == [date(2025, 10, 2), date(2025, 10, 3)]
    assert all(s.resource_person_ids == (only.id,) for s in result.sessions)


def test_a_two_day_session_takes_two_consecutive_working_days():
    teams = teams_of("35.17", {"35.17.01": [8] * 3, "35.17.02": [8] * 3})
    problem = PlanningProblem((programme("35.17", days_per_session=2),), teams, (hall("35.17", 24),),
                              two_persons(), frozenset())

    result = plan(problem)

    assert [s.days for s in result.sessions] == [(date(2025, 10, 1), date(2025, 10, 2)),
                                                 (date(2025, 10, 3), date(2025, 10, 6))]


def test_what_cannot_be_placed_is_reported_with_its_reason_never_forced():
    too_big = Team(an_id("too big"), "35.17", "35.17.01", 300, "Koperasi besar")
    teams = teams_of("35.17", {"35.17.02": [8] * 30, "35.17.03": [8] * 30}) + (too_big,)
    one_day = (date(2025, 10, 1), date(2025, 10, 1))
    no_topic = teams_of("35.18", {"35.18.01": [8]})
    problem = PlanningProblem(
        (programme("35.17", one_day), programme("35.18", topics=(("Hukum koperasi", 2),))),
        teams + no_topic, (hall("35.17", 250, one_day), hall("35.18")), two_persons(), frozenset())

    result = plan(problem)

    reasons = {u.cooperative_id: u.reason for u in result.unplaced}
    assert reasons[too_big.cooperative_id] == "team_larger_than_venue"
    assert reasons[no_topic[0].cooperative_id] == "no_resource_person_for_topics"
    assert len(result.sessions) == 1 and result.sessions[0].days == (date(2025, 10, 1),)
    left_out = [t for t in teams if t is not too_big and t.cooperative_id not in result.sessions[0].cooperative_ids]
    assert left_out and all(reasons[t.cooperative_id] == "no_capacity_in_window" for t in left_out)


def test_a_venue_lost_for_a_day_moves_that_session_alone_to_the_next_possible_day():
    problem = jombang_problem()
    published = plan(problem)
    third = published.sessions[2]
    venue = replace(problem.venues[0], available=problem.venues[0].available - {third.days[0]})

    result = plan(replace(problem, venues=(venue,), previous=Previous(published.sessions)))

    moved = next(s for s in result.sessions if s.id == third.id)
    assert moved.days == (max(s.days[0] for s in published.sessions) + timedelta(days=1),)
    assert moved.cooperative_ids == third.cooperative_ids and moved.number == third.number
    assert "moved" in dict(moved.reasons)
    assert set(result.moved) == set(third.cooperative_ids)
    assert [(s.id, s.days) for s in result.sessions if s.id != third.id] == \
           [(s.id, s.days) for s in published.sessions if s.id != third.id]
