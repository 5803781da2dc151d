"""Who sits where, what a publication changes, fingerprints, and the rules of programmes and venues."""
import hashlib
import json
import uuid
from dataclasses import replace
from datetime import date

import pytest

from bimtek_shared.contracts.errors import DomainError
from scheduling.domain import plans, programmes
from scheduling.domain.planning import PlannedSession, PlanningProblem, Programme, ResourcePerson, Team, Venue
from scheduling.domain.plans import assign_participants, compare, fingerprint

PROGRAMME = uuid.uuid4()
HALL = uuid.uuid4()


def session(number: int, day: int, cooperatives: list[uuid.UUID], participants: int, **changes) -> PlannedSession:
    return PlannedSession(id=changes.pop("id", uuid.uuid5(PROGRAMME, str(number))), programme_id=PROGRAMME,
                          regency="35.17", number=number, days=(date(2025, 10, day),),
                          venue_id=changes.pop("venue_id", HALL), resource_person_ids=changes.pop("persons", ()),
                          cooperative_ids=tuple(cooperatives), participants=participants, **changes)


def people(n: int) -> list[uuid.UUID]:
    return [uuid.uuid4() for _ in range(n)]


def test_a_team_in_one_session_sits_there_whole():
    a, b = uuid.uuid4(), uuid.uuid4()
    members = {a: people(3), b: people(2)}
    seats = assign_participants([session(1, 1, [a], 3), session(2, 2, [b], 2)], members, {})
    assert {seats[p] for p in members[a]} == {uuid.uuid5(PROGRAMME, "1")}
    assert {seats[p] for p in members[b]} == {uuid.uuid5(PROGRAMME, "2")}


def test_a_split_team_keeps_its_seated_members_and_late_ones_fill_the_next_session():
    team, other = uuid.uuid4(), uuid.uuid4()
    seated, late = people(4), people(2)
    first, second = session(1, 1, [team], 5), session(2, 2, [team, other], 4)
    members = {team: seated + late, other: people(3)}
    previous = {p: first.id for p in seated}

    seats = assign_participants([second, first], members, previous)  # any order: dates decide

    assert all(seats[p] == first.id for p in seated)
    assert seats[late[0]] == first.id and seats[late[1]] == second.id  # one seat left in the first
    assert all(seats[p] == second.id for p in members[other])


def test_the_planners_seat_counts_decide_where_a_split_teams_newcomers_go():
    team, other = uuid.uuid4(), uuid.uuid4()
    seated, late = people(3), people(2)
    # The second session has room for 3 more in all, but the plan seats one of this team there.
    first = session(1, 1, [team], 4, seats=((team, 4),))
    second = session(2, 2, [team, other], 3, seats=((team, 1), (other, 2)))
    members = {team: seated + late, other: people(2)}
    seats = assign_participants([first, second], members, {p: first.id for p in seated})
    assert [seats[p] for p in late] == [first.id, second.id]
    assert all(seats[p] == second.id for p in members[other])


def test_a_replacement_takes_the_seat_of_the_one_replaced_in_a_split_team():
    team = uuid.uuid4()
    first, second = session(1, 1, [team], 2), session(2, 2, [team], 1)
    stays, replacement, other = people(3)
    # The one replaced sat in the second session; their replacement inherits that seat.
    seats = assign_participants([first, second], {team: [stays, other, replacement]},
                                {stays: first.id, replacement: second.id})
    assert seats == {stays: first.id, other: first.id, replacement: second.id}


def test_members_of_an_unplaced_cooperative_get_no_seat():
    placed, unplaced = uuid.uuid4(), uuid.uuid4()
    members = {placed: people(2), unplaced: people(2)}
    seats = assign_participants([session(1, 1, [placed], 2)], members, {})
    assert set(seats) == set(members[placed])


def test_a_publication_says_which_sessions_came_changed_or_went_and_who_moved():
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    kept, moved, gone = session(1, 1, [a], 2), session(2, 2, [b], 2), session(3, 3, [c], 1)
    new_day = session(2, 6, [b], 2)
    added = session(4, 7, [c], 1)
    stay, move, leave = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    changes = compare([kept, moved, gone], [kept, new_day, added],
                      {stay: kept.id, move: gone.id, leave: moved.id}, {stay: kept.id, move: added.id})

    assert changes.scheduled == (added,) and changes.cancelled == (gone,)
    assert [(c.session.id, c.changed) for c in changes.rescheduled] == [(moved.id, ("days",))]
    assert changes.moved == (move,) and changes.unseated == (leave,) and not changes.nothing
    assert compare([kept], [kept], {stay: kept.id}, {stay: kept.id}).nothing


def test_session_differences_name_what_changed():
    a, b = uuid.uuid4(), uuid.uuid4()
    old = session(1, 1, [a], 2)
    new = session(1, 1, [a, b], 3, venue_id=uuid.uuid4(), persons=(uuid.uuid4(),))
    [change] = compare([old], [new], {}, {}).rescheduled
    assert change.changed == ("venue", "resource_persons", "cooperatives", "participants")


def _problem(teams: tuple[Team, ...], venue_days: frozenset[date]) -> PlanningProblem:
    programme = Programme(id=PROGRAMME, regency="35.17", title="Bimtek", topics=(("Koperasi", 8),),
                          days_per_session=1, window_start=date(2025, 10, 1), window_end=date(2025, 10, 31),
                          min_attendance_days=1)
    return PlanningProblem(programmes=(programme,), teams=teams,
                           venues=(Venue(HALL, "35.17", "Ruang Bung Tomo", 250, venue_days),),
                           resource_persons=(), non_working_days=frozenset())


def test_a_fingerprint_ignores_order_but_not_people():
    a, b = uuid.uuid4(), uuid.uuid4()
    teams = (Team(a, "35.17", "35.17.01", 2), Team(b, "35.17", "35.17.02", 1))
    days = frozenset({date(2025, 10, 1), date(2025, 10, 2)})
    members = {a: people(2), b: people(1)}
    same = fingerprint(_problem(teams, days), members)
    assert fingerprint(_problem(teams, frozenset(sorted(days, reverse=True))), dict(reversed(list(members.items())))) \
        == same
    swapped = {a: [members[a][0], uuid.uuid4()], b: members[b]}  # one left, another came: same count
    assert fingerprint(_problem(teams, days), swapped) != same
    assert fingerprint(_problem(teams, days - {date(2025, 10, 2)}), members) != same


def test_a_fingerprint_is_one_dump_of_the_whole_problem_though_written_part_by_part():
    """Shared parts (resource persons, bookings, holidays) are written once per value: the hash
    is still that of the whole, and a change to any of them still changes it."""
    a = uuid.uuid4()
    person = ResourcePerson(uuid.uuid4(), 'Dra. "Sri" Wahyuni', frozenset({"Koperasi", "Usaha"}),
                            frozenset({date(2025, 10, 1), date(2025, 10, 6)}))
    problem = replace(_problem((Team(a, "35.17", "35.17.01", 2),), frozenset({date(2025, 10, 1)})),
                      resource_persons=(person,), booked=((person.id, date(2025, 10, 6)),),
                      non_working_days=frozenset({date(2025, 10, 20)}),
                      neighbours=frozenset({("35.17.01", "35.17.02")}))
    members = {a: people(2)}
    whole = {"problem": plans._canonical(problem),
             "members": [[str(a), sorted(str(p) for p in members[a])]]}
    expected = hashlib.sha256(json.dumps(whole, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    assert fingerprint(problem, members) == expected
    for changed in (replace(problem, booked=()), replace(problem, non_working_days=frozenset()),
                    replace(problem, resource_persons=(replace(person, available=frozenset()),))):
        assert fingerprint(changed, members) != expected


def jombang_2025(**changes) -> programmes.TrainingProgramme:
    fields = dict(regency="35.17", title=" Bimtek Perkoperasian KDMP Kabupaten Jombang 2025 ",
                  topics=[("Perkoperasian  dan tata kelola", 4), ("Manajemen usaha", 4)], days_per_session=1,
                  window_start=date(2025, 10, 1), window_end=date(2025, 10, 31), min_attendance_days=1)
    return programmes.new_programme(**{**fields, **changes})


def test_a_programme_is_checked_and_cleaned():
    programme = jombang_2025(neighbours=[("35.17.09", "35.17.03"), ("35.17.03", "35.17.09")])
    assert programme.title == "Bimtek Perkoperasian KDMP Kabupaten Jombang 2025"
    assert programme.topics[0] == ("Perkoperasian dan tata kelola", 4) and programme.total_hours == 8
    assert programme.neighbours == (("35.17.03", "35.17.09"),)
    assert programme.neighbour_pairs() == {("35.17.03", "35.17.09"), ("35.17.09", "35.17.03")}
    assert jombang_2025().neighbour_pairs() is None
    for wrong in ({"min_attendance_days": 2}, {"window_end": date(2025, 9, 30)}, {"window_end": date(2026, 10, 31)},
                  {"topics": [("Koperasi", 4), ("Koperasi ", 4)]}, {"neighbours": [("35.16.01", "35.17.01")]}):
        with pytest.raises(DomainError) as refused:
            jombang_2025(**wrong)
        assert refused.value.code == "validation_failed", wrong


def test_a_published_programme_keeps_its_curriculum_and_session_length():
    programme = jombang_2025()
    assert programmes.change_programme(programme, {"window_end": date(2025, 11, 14), "title": programme.title}) \
        == ["window_end"]
    assert programme.version == 2
    programme.published = True
    for fixed in ({"days_per_session": 2}, {"min_attendance_days": 2, "days_per_session": 2},
                  {"topics": [("Perkoperasian dan tata kelola", 8)]}):
        with pytest.raises(DomainError) as refused:
            programmes.change_programme(programme, fixed)
        assert refused.value.code == "programme_structure_fixed", fixed
    assert programmes.change_programme(programme, {"topics": [("Perkoperasian dan tata kelola", 4),
                                                              ("Manajemen usaha", 4)]}) == []


def test_availability_ranges_and_days_round_trip():
    days = programmes.days_of([(date(2025, 10, 1), date(2025, 10, 3)), (date(2025, 10, 6), date(2025, 10, 6))])
    assert len(days) == 4
    assert programmes.ranges_of(days) == [(date(2025, 10, 1), date(2025, 10, 3)), (date(2025, 10, 6), date(2025, 10, 6))]
    with pytest.raises(DomainError):
        programmes.days_of([(date(2025, 10, 3), date(2025, 10, 1))])
    with pytest.raises(DomainError):
        programmes.days_of([(date(2025, 1, 1), date(2027, 12, 31))])


def test_a_venue_change_counts_only_what_changed():
    venue = programmes.new_venue(regency="35.17", name="Ruang Bung Tomo", capacity=250, available=frozenset())
    assert programmes.change_venue(venue, {"name": " Ruang Bung Tomo ", "capacity": 240}) == ["capacity"]
    assert venue.version == 2 and venue.capacity == 240
    with pytest.raises(DomainError):
        programmes.change_venue(venue, {"capacity": 0})
