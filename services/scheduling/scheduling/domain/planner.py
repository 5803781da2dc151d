"""The automatic session planner: registered cooperatives become a phased training calendar.

``plan(problem)`` is a pure function of a ``PlanningProblem`` (``planning.py``): the same problem
gives the same plan whatever the order of its inputs, so a preview and its publish agree.

Hard rules, always held: a team sits whole in one session (the one exception: late members who
find no room in their team's session on a re-plan, reported); no session holds more people than
its venue seats; sessions fall on working days inside the programme's window (no weekend, no day
of ``non_working_days``) on which the venue is available and free; every session has resource
persons who together cover the programme's topics, are available, and serve nowhere else that
day (across every regency planned together and ``booked``). A session of n days takes n
consecutive working days. What cannot be placed under these rules is reported in
``Plan.unplaced`` with a reason, never forced.

Goals, in this order: (1) the fewest sessions, (2) the fewest kecamatan split across sessions,
(3) kecamatan sharing a session are neighbours (the regency's neighbour list, or code order),
(4) the earliest finish.

First planning, per regency:

1. Teams are grouped by kecamatan. k starts at the lower bound ceil(participants / the largest
   venue's capacity).
2. Two packings are built and the better by (sessions, kecamatan split, sessions mixing
   non-neighbours, kecamatan pieces) is kept:
   - *sequential*: the kecamatan in a walk order (code order, and walks along the neighbour list
     when there is one) and a dynamic programme that cuts that sequence into sessions, minimising
     sessions, then splits, then non-neighbour mixing. Each session holds a run of consecutive
     kecamatan, so they are neighbours. It reaches the lower bound whenever sessions can be filled
     to within one team of capacity.
   - *whole first*: keep whole as many kecamatan as fit in k sessions (the smallest ones: that
     keeps the most whole), best fit decreasing, preferring a session that already holds a
     neighbour; the others (big ones, that exceed what remains) are poured team by team into the
     largest rooms left. k = lower bound first, then more until it fits.
   A local pass then moves or swaps whole kecamatan between sessions while that lowers the number
   of sessions mixing non-neighbours, within capacity.
3. Sessions are ordered by their first kecamatan code and dated, regency after regency; a session
   takes the earliest start day, not before its predecessor's, on which a venue that seats it is
   free and free resource persons cover the topics (greedy set cover: most topics first, then the
   least used person, then id; redundant persons dropped), so a regency dated later fills the days
   the others left. The order shares the province's persons: small regencies first (at most a
   quarter of the largest one's sessions), shortest first: they finish within days and take little;
   then the others, longest first: the longest chains set the finish. On Jawa Timur this finishes
   the province within a day of dating longest first alone, with the small regencies done in the
   first week instead of the last (bench/README.md).
4. Sessions are numbered in date order; a session's id is uuid5(programme id, number).

Re-plan (``problem.previous``): the published plan stays, and only what a change touches moves.
Withdrawn teams (absent from ``teams``) leave; a team that shrank gives up seats (its last piece
first); a pin moves a team whole into the pinned session if it has room; a grown team's new members
join its session if it has room, else the next session (date order) with room for them, else a new
session, and the split is reported; a new team joins a session with room, preferring one that holds
its kecamatan, then a neighbouring one, then the earliest. An unlocked session whose venue or
persons are no longer available on its days keeps its teams: other free persons are tried on the
same days first, then the session alone moves to the next possible day (another free venue on the
same day counts). Teams still without a place are packed into new sessions after the regency's
last. Unlocked sessions left empty are dropped. Locked sessions keep day, venue, persons and teams:
the planner moves no team into or out of them (facts still apply: a withdrawal, a shrink, a late
member of a team already there); a pin is a person's decision and is honoured there too. The caller
locks sessions that have started or must not change. Session numbers are kept (people were told
them); new sessions take the numbers after the programme's highest. ``Plan.moved`` lists
cooperatives placed before whose sessions, days or venue changed.
"""
from __future__ import annotations

import math
import uuid
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from bimtek_shared.contracts.wording import long_date

from scheduling.domain.planning import (
    Figures,
    Plan,
    PlannedSession,
    PlanningProblem,
    Programme,
    ResourcePerson,
    Team,
    Unplaced,
    Venue,
)

__all__ = ["plan", "measure", "session_id"]

def session_id(programme_id: uuid.UUID, number: int) -> uuid.UUID:
    return uuid.uuid5(programme_id, str(number))


def plan(problem: PlanningProblem) -> Plan:
    return _Planner(problem).run()


# -- kecamatan neighbours --------------------------------------------------------------------
class _Adjacency:
    """Which kecamatan of one regency count as neighbours: the regency's own list if it gave one
    (any pair naming one of its kecamatan), else consecutive codes among those with teams."""

    def __init__(self, regency: str, codes: Iterable[str], pairs: frozenset[tuple[str, str]] | None) -> None:
        self.codes = sorted(set(codes))
        self.links: dict[str, set[str]] = {code: set() for code in self.codes}
        prefix = regency + "."
        own = sorted((a, b) for a, b in (pairs or ()) if a.startswith(prefix) or b.startswith(prefix))
        self.from_list = bool(own)
        if self.from_list:
            for a, b in own:
                if a in self.links and b in self.links and a != b:
                    self.links[a].add(b)
                    self.links[b].add(a)
        else:
            for a, b in zip(self.codes, self.codes[1:]):
                self.links[a].add(b)
                self.links[b].add(a)
        self._connected: dict[frozenset[str], bool] = {}

    def add(self, code: str) -> None:
        """A kecamatan seen only on a re-plan: in code order it sits between its code neighbours."""
        if code in self.links:
            return
        self.links[code] = set()
        self.codes = sorted([*self.codes, code])
        if not self.from_list:
            self.links = {c: set() for c in self.codes}
            for a, b in zip(self.codes, self.codes[1:]):
                self.links[a].add(b)
                self.links[b].add(a)
        self._connected.clear()

    def neighbours(self, a: str, b: str) -> bool:
        return b in self.links.get(a, ())

    def connected(self, districts: Iterable[str]) -> bool:
        group = frozenset(districts)
        if len(group) <= 1:
            return True
        known = self._connected.get(group)
        if known is None:
            start = min(group)
            seen, stack = {start}, [start]
            while stack:
                for other in self.links.get(stack.pop(), ()):
                    if other in group and other not in seen:
                        seen.add(other)
                        stack.append(other)
            known = self._connected[group] = len(seen) == len(group)
        return known

    def walk_orders(self, codes: list[str]) -> list[list[str]]:
        """Orders to cut into sessions: code order, and with a neighbour list walks along it from
        the lowest code and from the kecamatan with fewest neighbours (ends of the map)."""
        orders = [list(codes)]
        if self.from_list and len(codes) > 2:
            inside = set(codes)
            degree = {c: len(self.links[c] & inside) for c in codes}
            starts = [codes[0], *sorted(codes, key=lambda c: (degree[c], c))[:3]]
            for start in starts:
                order = self._walk(codes, inside, start)
                if order not in orders:
                    orders.append(order)
        return orders

    def _walk(self, codes: list[str], inside: set[str], start: str) -> list[str]:
        order, seen = [start], {start}
        while len(order) < len(codes):
            last = order[-1]
            ahead = sorted(c for c in self.links[last] if c in inside and c not in seen)
            if ahead:  # Warnsdorff: the neighbour with fewest ways on, so the walk strands little
                step = min(ahead, key=lambda c: (len([n for n in self.links[c] if n in inside and n not in seen]), c))
            else:
                near = [c for c in codes if c not in seen and any(n in seen for n in self.links[c])]
                step = near[0] if near else next(c for c in codes if c not in seen)
            order.append(step)
            seen.add(step)
        return order


# -- packing teams into sessions -------------------------------------------------------------
def _team_key(team: Team) -> tuple:
    return (team.district, team.name, team.cooperative_id)


def _pack(teams: list[Team], capacity: int, adjacency: _Adjacency) -> list[list[Team]]:
    """Teams (each at most ``capacity``) into the fewest sessions, then the fewest split kecamatan,
    then the fewest sessions mixing non-neighbours."""
    if not teams:
        return []
    groups: dict[str, list[Team]] = defaultdict(list)
    for team in sorted(teams, key=_team_key):
        groups[team.district].append(team)
    codes = sorted(groups)
    candidates = [_sequential(groups, order, capacity, adjacency) for order in adjacency.walk_orders(codes)]
    lower = math.ceil(sum(t.participants for t in teams) / capacity)
    for k in range(lower, min(len(c) for c in candidates) + 1):
        whole_first = _whole_first(groups, codes, capacity, k, adjacency)
        if whole_first is not None:
            candidates.append(whole_first)
            break
    improved = [_fewer_mixed(bins, capacity, adjacency) for bins in candidates]
    return min(improved, key=lambda bins: _packing_cost(bins, adjacency))


def _packing_cost(bins: list[list[Team]], adjacency: _Adjacency) -> tuple[int, int, int, int]:
    sessions_of: dict[str, set[int]] = defaultdict(set)
    for index, teams in enumerate(bins):
        for team in teams:
            sessions_of[team.district].add(index)
    splits = sum(1 for held in sessions_of.values() if len(held) > 1)
    mixed = sum(1 for teams in bins if not adjacency.connected({t.district for t in teams}))
    pieces = sum(len(held) for held in sessions_of.values())
    return len(bins), splits, mixed, pieces


def _sequential(groups: dict[str, list[Team]], order: list[str], capacity: int,
                adjacency: _Adjacency) -> list[list[Team]]:
    """Cut the teams, kecamatan by kecamatan in ``order``, into consecutive runs. A cut falls
    between kecamatan, or inside one as late as capacity allows (an earlier cut inside the same
    kecamatan never helps what follows)."""
    sequence = [team for district in order for team in groups[district]]
    n = len(sequence)
    prefix = [0]
    for team in sequence:
        prefix.append(prefix[-1] + team.participants)
    position = {district: i for i, district in enumerate(order)}
    district_at = [position[team.district] for team in sequence]
    starts = [i for i in range(n) if i == 0 or district_at[i] != district_at[i - 1]] + [n]
    is_start = [False] * (n + 1)
    for i in starts:
        is_start[i] = True
    best: list[tuple[int, int, int] | None] = [None] * (n + 1)
    back = [0] * (n + 1)
    best[0] = (0, 0, 0)
    mixed_run: dict[tuple[int, int], int] = {}
    for p in range(n):
        cost = best[p]
        if cost is None:
            continue
        limit = bisect_right(prefix, prefix[p] + capacity) - 1
        ends = starts[bisect_right(starts, p):bisect_right(starts, limit)]
        if not is_start[limit]:
            ends.append(limit)
        for q in ends:
            # a cut inside a kecamatan splits it, unless this session began inside it already
            split = 0 if is_start[q] or (not is_start[p] and district_at[p] == district_at[q]) else 1
            run = (district_at[p], district_at[q - 1])
            mixed = mixed_run.get(run)
            if mixed is None:
                mixed = mixed_run[run] = 0 if adjacency.connected(order[run[0]:run[1] + 1]) else 1
            candidate = (cost[0] + 1, cost[1] + split, cost[2] + mixed)
            if best[q] is None or candidate < best[q]:
                best[q], back[q] = candidate, p
    bins, q = [], n
    while q > 0:
        bins.append(sequence[back[q]:q])
        q = back[q]
    return bins[::-1]


def _whole_first(groups: dict[str, list[Team]], codes: list[str], capacity: int, k: int,
                 adjacency: _Adjacency) -> list[list[Team]] | None:
    size = {d: sum(t.participants for t in groups[d]) for d in codes}
    ascending = sorted(codes, key=lambda d: (size[d], d))
    room, most = k * capacity, 0
    for district in ascending:
        if size[district] > capacity or size[district] > room:
            break
        room -= size[district]
        most += 1
    for kept in dict.fromkeys([*range(most, max(-1, most - 6), -1), 0]):
        for prefer_neighbours in (True, False):
            placed = _best_fit_decreasing(ascending[:kept], size, k, capacity, adjacency, prefer_neighbours)
            if placed is not None:
                poured = _pour(ascending[kept:], groups, size, placed, capacity)
                if poured is not None:
                    return poured
    return None


def _best_fit_decreasing(districts: list[str], size: dict[str, int], k: int, capacity: int,
                         adjacency: _Adjacency, prefer_neighbours: bool) -> list[list[str]] | None:
    bins: list[list[str]] = [[] for _ in range(k)]
    loads = [0] * k
    for district in sorted(districts, key=lambda d: (-size[d], d)):
        choice, choice_key = None, None
        for i in range(k):
            slack = capacity - loads[i] - size[district]
            if slack < 0:
                continue
            near = prefer_neighbours and any(adjacency.neighbours(district, other) for other in bins[i])
            key = (0 if near else 1, slack, i)
            if choice_key is None or key < choice_key:
                choice, choice_key = i, key
        if choice is None:
            return None
        bins[choice].append(district)
        loads[choice] += size[district]
    return bins


def _pour(split: list[str], groups: dict[str, list[Team]], size: dict[str, int],
          placed: list[list[str]], capacity: int) -> list[list[Team]] | None:
    bins = [[team for district in districts for team in groups[district]] for districts in placed]
    loads = [sum(size[d] for d in districts) for districts in placed]
    for district in sorted(split, key=lambda d: (-size[d], d)):
        whole = [i for i in range(len(bins)) if loads[i] + size[district] <= capacity]
        if whole:  # room opened up: it need not be split after all
            i = min(whole, key=lambda i: (capacity - loads[i] - size[district], i))
            bins[i].extend(groups[district])
            loads[i] += size[district]
            continue
        rooms = sorted(range(len(bins)), key=lambda i: (loads[i], i))  # largest room first: few pieces
        for team in sorted(groups[district], key=lambda t: (-t.participants, t.name, t.cooperative_id)):
            i = next((i for i in rooms if loads[i] + team.participants <= capacity), None)
            if i is None:
                return None
            bins[i].append(team)
            loads[i] += team.participants
    return [sorted(teams, key=_team_key) for teams in bins if teams]


def _fewer_mixed(bins: list[list[Team]], capacity: int, adjacency: _Adjacency) -> list[list[Team]]:
    """Share out again the kecamatan of two sessions at a time while that lowers the number of
    split kecamatan or of sessions mixing non-neighbours; never more splits, never over capacity."""
    bins = [list(teams) for teams in bins]
    version = [0] * len(bins)
    unimprovable: dict[tuple[int, int], tuple[int, int]] = {}  # pair -> versions when nothing helped
    holders = _holders(bins)
    for _ in range(6):
        changed = False
        for i in range(len(bins)):
            for j in range(i + 1, len(bins)):
                if not bins[i] or not bins[j] or unimprovable.get((i, j)) == (version[i], version[j]):
                    continue
                found = _repartition(bins[i], bins[j], i, j, holders, capacity, adjacency)
                if found is None:
                    unimprovable[(i, j)] = (version[i], version[j])
                    continue
                bins[i], bins[j] = found
                version[i] += 1
                version[j] += 1
                holders = _holders(bins)
                changed = True
        if not changed:
            break
    return [sorted(teams, key=_team_key) for teams in bins if teams]


def _holders(bins: list[list[Team]]) -> dict[str, set[int]]:
    held: dict[str, set[int]] = defaultdict(set)
    for index, teams in enumerate(bins):
        for team in teams:
            held[team.district].add(index)
    return held


def _repartition(a: list[Team], b: list[Team], i: int, j: int, holders: dict[str, set[int]], capacity: int,
                 adjacency: _Adjacency) -> tuple[list[Team], list[Team]] | None:
    """The best way to share two sessions' kecamatan groups between them: each group (a kecamatan's
    teams in one session) goes whole to either side, so no kecamatan gains a piece; two pieces of
    one kecamatan on the same side merge, one piece fewer (a split fewer if it had only those two).
    Better = (fewer splits, fewer mixed sessions); None if nothing is better."""
    districts_a, districts_b = {t.district for t in a}, {t.district for t in b}
    shared = districts_a & districts_b
    before = (0 if adjacency.connected(districts_a) else 1) + (0 if adjacency.connected(districts_b) else 1)
    if before == 0 and not shared:
        return None
    groups: dict[tuple[str, int], list[Team]] = defaultdict(list)
    for side, teams in ((0, a), (1, b)):
        for team in teams:
            groups[(team.district, side)].append(team)
    units = sorted(groups)
    if len(units) > 12:  # 2^11 ways at most; sessions this fragmented are left as they are
        return None
    size = [sum(t.participants for t in groups[u]) for u in units]
    total = sum(size)
    load_b = [0] * (1 << len(units))  # load of side b for each choice of units sent there
    for mask in range(1, 1 << len(units)):
        low = mask & -mask
        load_b[mask] = load_b[mask ^ low] + size[low.bit_length() - 1]
    whole_if_joined = {d for d in shared if holders[d] == {i, j}}
    best, best_cost = None, (0, before)
    for mask in range(0, 1 << len(units), 2):  # unit 0 stays on side a: the mirror choice is the same
        if load_b[mask] > capacity or total - load_b[mask] > capacity:
            continue
        to_a = {units[k][0] for k in range(len(units)) if not mask >> k & 1}
        to_b = {units[k][0] for k in range(len(units)) if mask >> k & 1}
        cost = (-len(whole_if_joined - (to_a & to_b)),
                (0 if adjacency.connected(to_a) else 1) + (0 if adjacency.connected(to_b) else 1))
        if cost < best_cost:
            best, best_cost = mask, cost
    if best is None:
        return None
    side_of = {units[k]: best >> k & 1 for k in range(len(units))}
    return ([t for u in units if not side_of[u] for t in groups[u]],
            [t for u in units if side_of[u] for t in groups[u]])


# -- days, venues and resource persons -------------------------------------------------------
class _Calendar:
    """Who and what is busy on which day, across every regency planned together."""

    def __init__(self, problem: PlanningProblem) -> None:
        self.non_working = problem.non_working_days
        self.persons = sorted(problem.resource_persons, key=lambda p: p.id)
        self.person = {p.id: p for p in self.persons}
        self.busy: dict[date, set[uuid.UUID]] = defaultdict(set)
        for person_id, day in problem.booked:
            self.busy[day].add(person_id)
        self.venue_busy: set[tuple[uuid.UUID, date]] = set()
        self.load: dict[uuid.UUID, int] = defaultdict(int)
        self._working: dict[tuple[date, date], list[date]] = {}

    def working_days(self, programme: Programme) -> list[date]:
        window = (programme.window_start, programme.window_end)
        days = self._working.get(window)
        if days is None:
            days, day = [], programme.window_start
            while day <= programme.window_end:
                if day.weekday() < 5 and day not in self.non_working:
                    days.append(day)
                day += timedelta(days=1)
            self._working[window] = days
        return days

    def venue_free(self, venue: Venue, days: tuple[date, ...]) -> bool:
        return all(day in venue.available and (venue.id, day) not in self.venue_busy for day in days)

    def persons_free(self, days: tuple[date, ...]) -> list[ResourcePerson]:
        return [p for p in self.persons
                if all(day in p.available and p.id not in self.busy.get(day, ()) for day in days)]

    def persons_fit(self, ids: tuple[uuid.UUID, ...], days: tuple[date, ...], topics: frozenset[str]) -> bool:
        people = [self.person.get(i) for i in ids]
        if not people or None in people:
            return False
        free = all(day in p.available and p.id not in self.busy.get(day, ()) for p in people for day in days)
        return free and topics <= frozenset().union(*(p.topics for p in people))

    def cover(self, topics: frozenset[str], candidates: list[ResourcePerson]) -> tuple[uuid.UUID, ...] | None:
        """Free persons who together cover the topics: greedy, most new topics first, then the
        least used so far, then id; then any person whose topics the others cover is dropped."""
        if not candidates:
            return None
        if not topics:
            return (min(candidates, key=lambda p: (self.load[p.id], p.id)).id,)
        remaining, chosen, pool = set(topics), [], list(candidates)
        while remaining:
            if not pool:
                return None
            best = min(pool, key=lambda p: (-len(remaining & p.topics), self.load[p.id], p.id))
            if not remaining & best.topics:
                return None
            chosen.append(best)
            pool.remove(best)
            remaining -= best.topics
        for person in list(chosen):
            others = [p for p in chosen if p is not person]
            if others and topics <= frozenset().union(*(p.topics for p in others)):
                chosen = others
        return tuple(sorted(p.id for p in chosen))

    def find(self, programme: Programme, venues: list[Venue], participants: int, not_before: date,
             prefer_venue: uuid.UUID | None = None,
             keep_persons: tuple[uuid.UUID, ...] = ()) -> tuple[tuple[date, ...], Venue, tuple[uuid.UUID, ...]] | None:
        """The earliest start on or after ``not_before``: n consecutive working days with a free
        venue seating everyone and free persons covering the topics."""
        days_list = self.working_days(programme)
        n = max(1, programme.days_per_session)
        topics = frozenset(topic for topic, _ in programme.topics)
        seating = sorted((v for v in venues if v.capacity >= participants),
                         key=lambda v: (v.id != prefer_venue, v.capacity, v.name, v.id))
        if not seating:
            return None
        for start in range(bisect_left(days_list, not_before), len(days_list) - n + 1):
            days = tuple(days_list[start:start + n])
            venue = next((v for v in seating if self.venue_free(v, days)), None)
            if venue is None:
                continue
            if keep_persons and self.persons_fit(keep_persons, days, topics):
                return days, venue, keep_persons
            persons = self.cover(topics, self.persons_free(days))
            if persons is not None:
                return days, venue, persons
        return None

    def book(self, days: tuple[date, ...], venue_id: uuid.UUID | None, persons: tuple[uuid.UUID, ...]) -> None:
        for day in days:
            if venue_id is not None:
                self.venue_busy.add((venue_id, day))
            self.busy[day].update(persons)
        for person in persons:
            self.load[person] += 1


# -- the planner -----------------------------------------------------------------------------
@dataclass
class _Regency:
    code: str
    programme: Programme
    venues: list[Venue]
    capacity: int  # the largest venue's: sessions are packed to it
    adjacency: _Adjacency
    topics: frozenset[str]


@dataclass(eq=False)  # sessions are compared by identity
class _Session:
    regency: str
    seats: dict[uuid.UUID, int]  # cooperative -> its people here, in seating order
    id: uuid.UUID | None = None
    number: int = 0
    days: tuple[date, ...] = ()
    venue_id: uuid.UUID | None = None
    persons: tuple[uuid.UUID, ...] = ()
    locked: bool = False
    kept_from: PlannedSession | None = None  # the published session it continues
    events: list[tuple[str, dict]] = field(default_factory=list)  # what a re-plan did to it

    @property
    def participants(self) -> int:
        return sum(self.seats.values())


@dataclass
class _Piece:
    """People still to seat: a whole team, or a grown team's late members."""
    team: Team
    why: str  # "new" (first planning or a late cooperative), "late_member", "displaced"
    home: int = 0  # late members: their team's session number


class _Planner:
    def __init__(self, problem: PlanningProblem) -> None:
        self.problem = problem
        self.calendar = _Calendar(problem)
        self.unplaced: list[Unplaced] = []
        self.team = {t.cooperative_id: t for t in problem.teams if t.participants > 0}
        self.regencies: dict[str, _Regency] = {}
        venues_of: dict[str, list[Venue]] = defaultdict(list)
        for venue in problem.venues:
            venues_of[venue.regency].append(venue)
        districts_of: dict[str, set[str]] = defaultdict(set)
        for team in self.team.values():
            districts_of[team.regency].add(team.district)
        for programme in sorted(problem.programmes, key=lambda p: (p.regency, p.id)):
            if programme.regency in self.regencies:
                raise ValueError(f"two programmes for regency {programme.regency}: plan them one at a time")
            venues = sorted(venues_of[programme.regency], key=lambda v: (v.capacity, v.name, v.id))
            self.regencies[programme.regency] = _Regency(
                code=programme.regency, programme=programme, venues=venues,
                capacity=max((v.capacity for v in venues), default=0),
                adjacency=_Adjacency(programme.regency, districts_of[programme.regency], problem.neighbours),
                topics=frozenset(topic for topic, _ in programme.topics))
        self.by_programme = {r.programme.id: r for r in self.regencies.values()}
        self.district_teams: dict[tuple[str, str], tuple[int, int]] = defaultdict(lambda: (0, 0))
        for team in self.team.values():
            count, people = self.district_teams[(team.regency, team.district)]
            self.district_teams[(team.regency, team.district)] = (count + 1, people + team.participants)
        self.sessions: list[_Session] = []
        # kecamatan the published plan had split already: a split that is not a re-plan's doing
        self.split_before: set[tuple[str, str]] = set()
        if problem.previous is not None:
            held: dict[tuple[str, str], set[uuid.UUID]] = defaultdict(set)
            for old in problem.previous.sessions:
                for cooperative in old.cooperative_ids:
                    if cooperative in self.team:
                        held[(old.regency, self.team[cooperative].district)].add(old.id)
            self.split_before = {key for key, sessions in held.items() if len(sessions) > 1}

    # -- the whole run ---------------------------------------------------------------------
    def run(self) -> Plan:
        pieces = self._replan() if self.problem.previous is not None else [
            _Piece(team, "new") for team in sorted(self.team.values(), key=lambda t: (t.regency, _team_key(t)))]
        self._place_in_new_sessions(pieces)
        sessions = self._finish()
        return Plan(
            sessions=sessions,
            figures=measure(self.problem, sessions),
            unplaced=tuple(sorted(self.unplaced, key=lambda u: (str(u.cooperative_id), u.reason))),
            moved=self._moved(sessions),
        )

    def _placeable(self, pieces: list[_Piece]) -> dict[str, list[_Piece]]:
        """Pieces by regency, those that can never be placed set aside with their reason."""
        covered = frozenset().union(*(p.topics for p in self.problem.resource_persons))
        by_regency: dict[str, list[_Piece]] = defaultdict(list)
        for piece in pieces:
            team, regency = piece.team, self.regencies.get(piece.team.regency)
            if regency is None:
                self._unplace(team, "no_programme", {"regency": team.regency})
            elif not regency.venues:
                self._unplace(team, "no_venue", {"regency": team.regency})
            elif team.participants > regency.capacity:
                self._unplace(team, "team_larger_than_venue", {"capacity": regency.capacity})
            elif not regency.topics <= covered or not self.problem.resource_persons:
                self._unplace(team, "no_resource_person_for_topics",
                              {"topics": sorted(regency.topics - covered)})
            else:
                by_regency[regency.code].append(piece)
        return by_regency

    def _unplace(self, team: Team, reason: str, params: dict) -> None:
        self.unplaced.append(Unplaced(team.cooperative_id, reason, {**params, "participants": team.participants}))

    def _place_in_new_sessions(self, pieces: list[_Piece]) -> None:
        """Pack what is left into new sessions, regency by regency, and date them (see the module
        docstring, step 3, for the order in which regencies are dated)."""
        queues: dict[str, list[_Session]] = {}
        for code, regency_pieces in sorted(self._placeable(pieces).items()):
            regency = self.regencies[code]
            for piece in regency_pieces:
                regency.adjacency.add(piece.team.district)
            piece_of = {id(p.team): p for p in regency_pieces}  # packing hands back the same Team objects
            bins = _pack([p.team for p in regency_pieces], regency.capacity, regency.adjacency)
            bins.sort(key=lambda teams: (min(t.district for t in teams), _team_key(teams[0])))
            queue = []
            for teams in bins:
                session = _Session(regency=code, seats={})
                for team in teams:
                    session.seats[team.cooperative_id] = session.seats.get(team.cooperative_id, 0) + team.participants
                    piece = piece_of[id(team)]
                    if piece.why == "late_member":
                        session.events.append(("late_member_split", {
                            "cooperative_id": str(team.cooperative_id), "participants": team.participants,
                            "team_session": piece.home}))
                    elif piece.why == "displaced":
                        session.events.append(("displaced", {"cooperative_id": str(team.cooperative_id)}))
                    elif self.problem.previous is not None:
                        session.events.append(("late_cooperative", {"cooperative_id": str(team.cooperative_id)}))
                queue.append(session)
            queues[code] = queue
        not_before = {code: self._after_last(code) for code in queues}
        longest = max((len(queue) for queue in queues.values()), default=0)

        def turn(code: str) -> tuple:
            # Small regencies first, shortest first: they finish within days and take little of the
            # shared persons; then the rest, longest first: the longest chains set the finish.
            count = len(queues[code])
            return (0, count, code) if 4 * count <= longest else (1, -count, code)

        for code in sorted(queues, key=turn):
            regency = self.regencies[code]
            for session in queues[code]:
                found = self.calendar.find(regency.programme, regency.venues, session.participants, not_before[code])
                if found is None:
                    for cooperative, people in session.seats.items():
                        self._unplace(replace(self.team[cooperative], participants=people), "no_capacity_in_window",
                                      {"window_end": regency.programme.window_end.isoformat()})
                    continue
                session.days, venue, session.persons = found
                session.venue_id = venue.id
                self.calendar.book(session.days, venue.id, session.persons)
                not_before[code] = session.days[0]
                self.sessions.append(session)

    def _after_last(self, code: str) -> date:
        """New sessions of a regency come after its existing ones (on a first planning: the window)."""
        programme = self.regencies[code].programme
        days = [day for s in self.sessions if s.regency == code for day in s.days]
        return max(programme.window_start, max(days) + timedelta(days=1)) if days else programme.window_start

    # -- re-planning -----------------------------------------------------------------------
    def _replan(self) -> list[_Piece]:
        previous = self.problem.previous
        assert previous is not None
        for old in sorted(previous.sessions, key=lambda s: (s.regency, s.number, s.id)):
            regency = self.by_programme.get(old.programme_id)
            if regency is None:
                continue
            seats = dict(old.seats) if old.seats else {
                c: self.team[c].participants for c in old.cooperative_ids if c in self.team}
            session = _Session(regency=regency.code, seats={}, id=old.id, number=old.number, days=old.days,
                               venue_id=old.venue_id, persons=old.resource_person_ids,
                               locked=old.id in previous.locked_sessions, kept_from=old)
            left = 0
            for cooperative, people in seats.items():
                team = self.team.get(cooperative)
                if team is None or team.regency != regency.code:
                    left += 1
                else:
                    session.seats[cooperative] = session.seats.get(cooperative, 0) + people
            if left:
                session.events.append(("withdrawn", {"cooperatives": left}))
            self.sessions.append(session)
        for team in self.team.values():
            if team.regency in self.regencies:
                self.regencies[team.regency].adjacency.add(team.district)

        self._apply_pins(previous.pinned)
        pieces = self._fit_team_sizes()
        pieces += self._seat_new_teams()
        self.sessions = [s for s in self.sessions if s.seats or s.locked]
        pieces += self._keep_or_move_days()
        return pieces

    def _order(self, sessions: Iterable[_Session]) -> list[_Session]:
        return sorted(sessions, key=lambda s: (s.days[:1], s.number, str(s.id)))

    def _holding(self, cooperative: uuid.UUID) -> list[_Session]:
        return self._order(s for s in self.sessions if cooperative in s.seats)

    def _room(self, session: _Session) -> int:
        venue = next((v for v in self.regencies[session.regency].venues if v.id == session.venue_id), None)
        capacity = venue.capacity if venue else self.regencies[session.regency].capacity
        return capacity - session.participants

    def _apply_pins(self, pins: tuple[tuple[uuid.UUID, uuid.UUID], ...]) -> None:
        by_id = {s.id: s for s in self.sessions}
        for cooperative, target_id in sorted(pins, key=lambda p: (str(p[0]), str(p[1]))):
            team, target = self.team.get(cooperative), by_id.get(target_id)
            if team is None or target is None or team.regency != target.regency:
                continue
            holding = self._holding(cooperative)
            if len(holding) == 1 and holding[0] is target and target.seats[cooperative] == team.participants:
                continue
            if team.participants > self._room(target) + target.seats.get(cooperative, 0):
                target.events.append(("pin_refused", {"cooperative_id": str(cooperative), "room": self._room(target)}))
                continue
            for session in holding:
                del session.seats[cooperative]
            target.seats[cooperative] = team.participants
            target.events.append(("pinned", {"cooperative_id": str(cooperative)}))

    def _fit_team_sizes(self) -> list[_Piece]:
        """Shrunken teams give up seats, last piece first; grown teams' new members join the team's
        session if it has room, else the next session with room, else wait for a new session."""
        pieces = []
        for cooperative in sorted({c for s in self.sessions for c in s.seats}, key=str):
            team, holding = self.team[cooperative], self._holding(cooperative)
            seated = sum(s.seats[cooperative] for s in holding)
            for session in reversed(holding):
                if seated <= team.participants:
                    break
                give_up = min(seated - team.participants, session.seats[cooperative])
                session.seats[cooperative] -= give_up
                seated -= give_up
                if session.seats[cooperative] == 0:
                    del session.seats[cooperative]
            extra = team.participants - seated
            if extra <= 0:
                continue
            home = holding[0]
            if self._room(home) >= extra:
                home.seats[cooperative] += extra
                home.events.append(("late_member", {"cooperative_id": str(cooperative), "participants": extra}))
                continue
            ordered = self._order(s for s in self.sessions if s.regency == home.regency)
            later = ordered[ordered.index(home) + 1:]
            nxt = next((s for s in later if not s.locked and self._room(s) >= extra), None)
            if nxt is None:
                pieces.append(_Piece(replace(team, participants=extra), "late_member", home.number))
                continue
            nxt.seats[cooperative] = nxt.seats.get(cooperative, 0) + extra
            nxt.events.append(("late_member_split", {"cooperative_id": str(cooperative), "participants": extra,
                                                     "team_session": home.number}))
        return pieces

    def _seat_new_teams(self) -> list[_Piece]:
        """A late cooperative joins a session with room: one holding its kecamatan first, then a
        neighbour's, then the earliest."""
        seated = {c for s in self.sessions for c in s.seats}
        pieces = []
        for team in sorted((t for t in self.team.values() if t.cooperative_id not in seated),
                           key=lambda t: (t.regency, _team_key(t))):
            regency = self.regencies.get(team.regency)
            open_sessions = [s for s in self.sessions if s.regency == team.regency and not s.locked
                             and self._room(s) >= team.participants]
            if regency is None or not open_sessions:
                pieces.append(_Piece(team, "new"))
                continue

            def closeness(session: _Session) -> int:
                districts = {self.team[c].district for c in session.seats}
                if team.district in districts:
                    return 0
                return 1 if any(regency.adjacency.neighbours(team.district, d) for d in districts) else 2

            target = min(open_sessions, key=lambda s: (closeness(s), s.days[:1], s.number))
            target.seats[team.cooperative_id] = team.participants
            target.events.append(("late_cooperative", {"cooperative_id": str(team.cooperative_id)}))
        return pieces

    def _keep_or_move_days(self) -> list[_Piece]:
        """Book every kept session as it is if it still can be; move the others alone."""
        to_move: list[tuple[_Session, str]] = []
        for session in sorted(self.sessions, key=lambda s: (not s.locked, s.days[:1], s.regency, s.number)):
            regency = self.regencies[session.regency]
            problem = self._day_problem(session, regency)
            if session.locked:
                if problem or not self.calendar.persons_fit(session.persons, session.days, regency.topics):
                    session.events.append(("locked_but_unavailable", {"cause": problem or "resource_persons"}))
                self.calendar.book(session.days, session.venue_id, session.persons)
                continue
            if problem:
                to_move.append((session, problem))
                continue
            self.calendar.book(session.days, session.venue_id, ())
            if self.calendar.persons_fit(session.persons, session.days, regency.topics):
                self.calendar.book(session.days, None, session.persons)
                continue
            persons = self.calendar.cover(regency.topics, self.calendar.persons_free(session.days))
            if persons is not None:
                session.events.append(("resource_persons_replaced", {
                    "before": [str(p) for p in session.persons], "after": [str(p) for p in persons]}))
                session.persons = persons
                self.calendar.book(session.days, None, persons)
                continue
            for day in session.days:  # give the venue back: the session leaves this day
                self.calendar.venue_busy.discard((session.venue_id, day))
            to_move.append((session, "resource_persons_unavailable"))
        pieces = []
        for session, cause in sorted(to_move, key=lambda m: (m[0].days[:1], m[0].regency, m[0].number)):
            regency = self.regencies[session.regency]
            start = max(session.days[0], regency.programme.window_start) if session.days else \
                regency.programme.window_start
            found = self.calendar.find(regency.programme, regency.venues, session.participants, start,
                                       prefer_venue=session.venue_id, keep_persons=session.persons)
            if found is None:
                self.sessions.remove(session)
                pieces += [_Piece(replace(self.team[c], participants=n), "displaced") for c, n in session.seats.items()]
                continue
            days, venue, persons = found
            session.events.append(("moved", {"cause": cause, "from_days": [d.isoformat() for d in session.days],
                                             "from_venue_id": str(session.venue_id)}))
            session.days, session.venue_id, session.persons = days, venue.id, persons
            self.calendar.book(days, venue.id, persons)
        return pieces

    def _day_problem(self, session: _Session, regency: _Regency) -> str | None:
        programme = regency.programme
        venue = next((v for v in regency.venues if v.id == session.venue_id), None)
        if len(session.days) != max(1, programme.days_per_session):
            return "days_per_session_changed"
        if any(not programme.window_start <= d <= programme.window_end for d in session.days):
            return "outside_window"
        if any(d.weekday() >= 5 or d in self.calendar.non_working for d in session.days):
            return "not_a_working_day"
        if venue is None or not self.calendar.venue_free(venue, session.days):
            return "venue_unavailable"
        if venue.capacity < session.participants:
            return "venue_too_small"
        return None

    # -- numbering, explanations and what moved ---------------------------------------------
    def _finish(self) -> tuple[PlannedSession, ...]:
        taken = {s.id for s in self.sessions if s.id is not None}
        previous_numbers: dict[str, int] = defaultdict(int)
        if self.problem.previous is not None:
            for old in self.problem.previous.sessions:
                if (regency := self.by_programme.get(old.programme_id)) is not None:
                    previous_numbers[regency.code] = max(previous_numbers[regency.code], old.number)
        for code in sorted({s.regency for s in self.sessions}):
            number = previous_numbers[code]
            programme_id = self.regencies[code].programme.id
            for session in self._order(s for s in self.sessions if s.regency == code and s.id is None):
                number += 1
                while session_id(programme_id, number) in taken:
                    number += 1
                session.number, session.id = number, session_id(programme_id, number)
                taken.add(session.id)
        ordered = sorted(self.sessions, key=lambda s: (s.regency, s.number))
        numbers_of: dict[uuid.UUID, list[int]] = defaultdict(list)
        district_numbers: dict[tuple[str, str], list[int]] = defaultdict(list)
        for session in ordered:
            for cooperative in session.seats:
                numbers_of[cooperative].append(session.number)
            for district in sorted({self.team[c].district for c in session.seats}):
                district_numbers[(session.regency, district)].append(session.number)
        return tuple(self._planned(s, numbers_of, district_numbers) for s in ordered)

    def _planned(self, session: _Session, numbers_of: dict[uuid.UUID, list[int]],
                 district_numbers: dict[tuple[str, str], list[int]]) -> PlannedSession:
        regency = self.regencies[session.regency]
        seats = sorted(session.seats.items(), key=lambda item: _team_key(self.team[item[0]]))
        why, reasons = _Explainer(self, session, regency, numbers_of, district_numbers).explain(seats)
        return PlannedSession(
            id=session.id, programme_id=regency.programme.id, regency=session.regency, number=session.number,
            days=session.days, venue_id=session.venue_id, resource_person_ids=session.persons,
            cooperative_ids=tuple(c for c, _ in seats), participants=session.participants,
            why=tuple(why), reasons=tuple(reasons), seats=tuple(seats))

    def _moved(self, sessions: tuple[PlannedSession, ...]) -> tuple[uuid.UUID, ...]:
        previous = self.problem.previous
        if previous is None:
            return ()

        def placements(planned: Iterable[PlannedSession]) -> dict[uuid.UUID, set]:
            where: dict[uuid.UUID, set] = defaultdict(set)
            for s in planned:
                for cooperative in s.cooperative_ids:
                    where[cooperative].add((s.id, s.days, s.venue_id))
            return where

        before = placements(s for s in previous.sessions if s.programme_id in self.by_programme)
        after = placements(sessions)
        return tuple(sorted((c for c in before if c in self.team and before[c] != after.get(c, set())), key=str))


# -- explanations ----------------------------------------------------------------------------
def _days_text(days: Iterable[date]) -> str:
    return ", ".join(long_date(d) for d in days)


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " dan " + items[-1]


class _Explainer:
    """Why a session holds whom, when and with whom: lines in Bahasa Indonesia, and the same as
    (code, params) for other languages."""

    def __init__(self, planner: _Planner, session: _Session, regency: _Regency,
                 numbers_of: dict[uuid.UUID, list[int]], district_numbers: dict[tuple[str, str], list[int]]) -> None:
        self.planner, self.session, self.regency = planner, session, regency
        self.numbers_of, self.district_numbers = numbers_of, district_numbers
        self.why: list[str] = []
        self.reasons: list[tuple[str, dict]] = []

    def say(self, line: str, code: str, params: dict) -> None:
        self.why.append(line)
        self.reasons.append((code, params))

    def name(self, cooperative: str | uuid.UUID) -> str:
        team = self.planner.team.get(uuid.UUID(str(cooperative)))
        return team.name if team and team.name else f"koperasi {cooperative}"

    def explain(self, seats: list[tuple[uuid.UUID, int]]) -> tuple[list[str], list[tuple[str, dict]]]:
        session, team_of = self.session, self.planner.team
        districts = sorted({team_of[c].district for c, _ in seats})
        for district in districts:
            here = [(c, n) for c, n in seats if team_of[c].district == district]
            of_cooperatives, total = self.planner.district_teams[(session.regency, district)]
            others = [n for n in self.district_numbers[(session.regency, district)] if n != session.number]
            people = sum(n for _, n in here)
            if not others:
                self.say(f"Kecamatan {district}: seluruh {len(here)} koperasi ({people} peserta) di sesi ini.",
                         "district_whole", {"district": district, "cooperatives": len(here), "participants": people})
                continue
            line = (f"Kecamatan {district}: {len(here)} dari {of_cooperatives} koperasi ({people} dari {total} "
                    f"peserta); sisanya di sesi {_join([str(n) for n in others])}.")
            by_packing = self.session.kept_from is None or (session.regency, district) in self.planner.split_before
            if by_packing and not any(len(self.numbers_of[c]) > 1 for c, _ in here):  # else late members split it
                line += " Kecamatan ini dibagi karena tidak muat utuh di sisa kursi tanpa menambah sesi."
            self.say(line, "district_part", {"district": district, "cooperatives": len(here),
                                             "of_cooperatives": of_cooperatives, "participants": people,
                                             "of_participants": total, "other_sessions": others})
        for cooperative, people in seats:
            elsewhere = [n for n in self.numbers_of[cooperative] if n != session.number]
            if elsewhere:
                self.say(f"{self.name(cooperative)}: {people} anggota di sesi ini, anggota lainnya di sesi "
                         f"{_join([str(n) for n in elsewhere])} (tim terbagi karena anggota yang mendaftar "
                         "belakangan tidak mendapat kursi di sesi timnya).",
                         "team_split", {"cooperative_id": str(cooperative), "participants": people,
                                        "other_sessions": elsewhere})
        if len(districts) > 1:
            self._sharing(districts)
        self._events()
        self._day_and_persons()
        return self.why, self.reasons

    def _sharing(self, districts: list[str]) -> None:
        adjacency, listed = self.regency.adjacency, _join(districts)
        if not adjacency.connected(districts):
            self.say(f"Kecamatan {listed} tidak semuanya bertetangga, tetapi digabung agar jumlah sesi tetap "
                     "minimum dan sesedikit mungkin kecamatan terbagi.", "not_neighbours", {"districts": districts})
        elif adjacency.from_list:
            self.say(f"Kecamatan {listed} bertetangga menurut daftar tetangga kabupaten, jadi digabung dalam "
                     "satu sesi.", "neighbours", {"districts": districts})
        else:
            self.say(f"Kecamatan {listed} berurutan menurut kode kecamatan (kabupaten belum memberi daftar "
                     "tetangga), jadi digabung dalam satu sesi.", "code_order", {"districts": districts})

    def _events(self) -> None:
        for code, params in self.session.events:
            who = self.name(params["cooperative_id"]) if "cooperative_id" in params else ""
            if code == "withdrawn":
                line = f"{params['cooperatives']} koperasi mundur dari sesi ini."
            elif code == "late_member":
                line = f"{params['participants']} anggota baru {who} bergabung dengan timnya di sesi ini."
            elif code == "late_member_split":
                line = (f"{params['participants']} anggota baru {who} tidak mendapat kursi di sesi timnya (sesi "
                        f"{params['team_session']}): ditempatkan di sesi berikutnya yang masih ada kursi.")
            elif code == "late_cooperative":
                line = f"{who} mendaftar setelah rencana terbit: ditempatkan di sesi yang masih ada kursi."
            elif code == "displaced":
                line = f"{who} dipindah ke sesi baru: sesi semulanya tidak dapat dijadwalkan ulang."
            elif code == "pinned":
                line = f"{who} dipindah ke sesi ini secara manual."
            elif code == "pin_refused":
                line = (f"Pemindahan manual {who} ke sesi ini tidak dilakukan: kursi tersisa {params['room']}, "
                        "kurang untuk seluruh timnya.")
            elif code == "moved":
                cause = {"venue_unavailable": "gedung tidak tersedia",
                         "venue_too_small": "gedung tidak cukup besar",
                         "resource_persons_unavailable": "narasumber tidak tersedia",
                         "not_a_working_day": "tanggal itu bukan hari kerja",
                         "outside_window": "tanggal itu di luar jangka waktu program",
                         "days_per_session_changed": "jumlah hari per sesi berubah"}.get(params["cause"], params["cause"])
                days = [date.fromisoformat(d) for d in params["from_days"]]
                line = f"Dipindah dari {_days_text(days)} karena {cause} pada tanggal semula."
            elif code == "resource_persons_replaced":
                line = "Narasumber diganti: narasumber semula tidak tersedia pada tanggal ini."
            elif code == "locked_but_unavailable":
                line = ("Perhatian: sesi dikunci, padahal gedung atau narasumbernya tidak lagi tersedia pada "
                        "tanggal ini.")
            else:
                line = code
            self.say(line, code, params)

    def _day_and_persons(self) -> None:
        session, calendar = self.session, self.planner.calendar
        venue = next((v for v in self.regency.venues if v.id == session.venue_id), None)
        venue_name = venue.name if venue else str(session.venue_id)
        when = {"days": [d.isoformat() for d in session.days], "venue_id": str(session.venue_id)}
        moved = any(code == "moved" for code, _ in session.events)
        if session.locked:
            self.say(f"{_days_text(session.days)} di {venue_name}: sesi dikunci, tanggal, tempat, narasumber dan "
                     "pesertanya tidak diubah oleh perencana.", "locked", when)
        elif session.kept_from is not None and not moved:
            self.say(f"{_days_text(session.days)} di {venue_name}: tetap seperti rencana yang diterbitkan.",
                     "kept", when)
        elif moved:
            self.say(f"{_days_text(session.days)} di {venue_name}: hari kerja berikutnya ketika gedung dan "
                     "narasumber tersedia.", "next_possible_day", when)
        else:
            self.say(f"{_days_text(session.days)} di {venue_name}: hari kerja paling awal ketika gedung dan "
                     "narasumber tersedia, tidak sebelum sesi sebelumnya (sesi diurutkan menurut kode kecamatan).",
                     "earliest_day", when)
        names = [calendar.person[p].name if p in calendar.person else str(p) for p in session.persons]
        self.say(f"Narasumber: {_join(names) if names else '-'}; bersama mencakup semua topik program dan tidak "
                 "bertugas di sesi lain pada hari itu.", "resource_persons",
                 {"resource_person_ids": [str(p) for p in session.persons]})


# -- figures ---------------------------------------------------------------------------------
def measure(problem: PlanningProblem, sessions: Iterable[PlannedSession]) -> dict[str, Figures]:
    """Goals (1) to (4) of any set of sessions for the problem, per regency planned."""
    sessions = list(sessions)
    teams = {t.cooperative_id: t for t in problem.teams if t.participants > 0}
    figures = {}
    for programme in sorted(problem.programmes, key=lambda p: p.regency):
        code = programme.regency
        own = [s for s in sessions if s.programme_id == programme.id]
        regency_teams = [t for t in teams.values() if t.regency == code]
        capacity = max((v.capacity for v in problem.venues if v.regency == code), default=0)
        participants = sum(t.participants for t in regency_teams)
        adjacency = _Adjacency(code, {t.district for t in regency_teams}, problem.neighbours)
        holders: dict[str, set[uuid.UUID]] = defaultdict(set)
        mixed = 0
        for s in own:
            districts = {teams[c].district for c in s.cooperative_ids if c in teams}
            for district in districts:
                holders[district].add(s.id)
            mixed += 0 if adjacency.connected(districts) else 1
        figures[code] = Figures(
            sessions=len(own),
            sessions_lower_bound=math.ceil(participants / capacity) if capacity else 0,
            districts_split=sum(1 for held in holders.values() if len(held) > 1),
            shared_sessions_with_non_neighbours=mixed,
            finish=max((d for s in own for d in s.days), default=None),
        )
    return figures
