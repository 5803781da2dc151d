"""From a plan to who sits where, and what a publication changes.

The planner (``planner.plan``) decides sessions and which cooperatives sit in each; this module
decides which participant of a cooperative goes to which of its sessions (a team is split only by
a re-plan that seats a late member elsewhere), compares a new plan with the published one, and
fingerprints a planning problem so that a preview is published only if nothing changed since.
"""
from __future__ import annotations

import hashlib
import json
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, is_dataclass
from datetime import date, datetime
from enum import Enum
from functools import lru_cache
from typing import Any

from .planning import PlannedSession, PlanningProblem, Previous

# -- several programmes at once -----------------------------------------------------------------
def together(problems: Sequence[PlanningProblem]) -> PlanningProblem:
    """One problem of several programmes' (one per regency, each with the same resource persons
    and bookings): the province's resource persons' days are then decided for all at once."""
    if len(problems) == 1:
        return problems[0]
    previous = [p.previous for p in problems if p.previous is not None]
    neighbours = [p.neighbours for p in problems if p.neighbours is not None]
    return PlanningProblem(
        programmes=tuple(programme for p in problems for programme in p.programmes),
        teams=tuple(team for p in problems for team in p.teams),
        venues=tuple(venue for p in problems for venue in p.venues),
        resource_persons=problems[0].resource_persons,
        non_working_days=frozenset().union(*(p.non_working_days for p in problems)),
        booked=problems[0].booked,
        # Kecamatan codes are unique in the province, so each regency's pairs stay its own.
        neighbours=frozenset().union(*neighbours) if neighbours else None,
        previous=Previous(sessions=tuple(s for p in previous for s in p.sessions),
                          locked_sessions=frozenset().union(*(p.locked_sessions for p in previous)),
                          pinned=tuple(pin for p in previous for pin in p.pinned)) if previous else None,
    )


# -- fingerprints ---------------------------------------------------------------------------------
def fingerprint(problem: PlanningProblem, members: Mapping[uuid.UUID, Sequence[uuid.UUID]]) -> str:
    """SHA-256 of everything a plan was made from: the problem, and who is in each team (a
    withdrawal and a late registration in one cooperative leave its count alone, not its people)."""
    # The JSON of json.dumps(canonical, sort_keys=True), written part by part: the parts every
    # programme of a province shares (resource persons, their bookings, the holidays) are written
    # once, and members directly (ids' text sorts as their numbers do) rather than through
    # _canonical. The value is the same as one dump of the whole.
    parts = ",".join(f'"{f.name}":{_shared_json(getattr(problem, f.name))}' if f.name in _SHARED
                     else f'"{f.name}":{_json(_canonical(getattr(problem, f.name)))}' for f in _PROBLEM_FIELDS)
    people = _json([[str(cooperative), sorted(map(str, people))]
                    for cooperative, people in sorted(members.items(), key=lambda item: str(item[0]))])
    return hashlib.sha256(f'{{"members":{people},"problem":{{{parts}}}}}'.encode()).hexdigest()


_PROBLEM_FIELDS = sorted(fields(PlanningProblem), key=lambda f: f.name)
_SHARED = frozenset({"resource_persons", "booked", "non_working_days"})


def _json(value: Any) -> str:
    """Canonical JSON text (sorted keys, no spaces): what is hashed, and how set members sort."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


@lru_cache(maxsize=32)
def _shared_json(value: Any) -> str:
    """Parts of a problem that are the same for every programme planned at once (hashable: frozen
    dataclasses, tuples and frozensets)."""
    return _json(_canonical(value))


def _canonical(value: Any) -> Any:
    """JSON-ready and order-free where order means nothing (sets, mappings)."""
    if value is None or isinstance(value, (str, int, float)):  # most of a problem's leaves, first
        return value
    names = _field_names(type(value))
    if names:
        return {name: _canonical(getattr(value, name)) for name in names}
    if isinstance(value, Mapping):
        return sorted(([_canonical(k), _canonical(v)] for k, v in value.items()), key=_json)
    if isinstance(value, (set, frozenset)):
        return sorted((_canonical(item) for item in value), key=_json)
    if isinstance(value, (list, tuple)):
        return [_canonical(item) for item in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    return value


@lru_cache(maxsize=None)
def _field_names(cls: type) -> tuple[str, ...]:
    """A dataclass's field names (none for any other type), looked up once per class."""
    return tuple(f.name for f in fields(cls)) if is_dataclass(cls) else ()



# -- who sits where ----------------------------------------------------------------------------------
def assign_participants(
    sessions: Sequence[PlannedSession],
    members: Mapping[uuid.UUID, Sequence[uuid.UUID]],
    previous: Mapping[uuid.UUID, uuid.UUID],
) -> dict[uuid.UUID, uuid.UUID]:
    """Each participant's session (participant -> session).

    ``members``: each cooperative's participants, in the order they registered. ``previous``: the
    session each participant (or, for a replacement, the one they replaced) sat in. A cooperative
    in one session sits there whole. A cooperative a re-plan split keeps its members where they
    were, and the others fill its sessions in date order, up to the number the planner seated
    there (``PlannedSession.seats``; the session's head count where a plan gives none). Members of
    a cooperative in no session (unplaced) get none.
    """
    ordered = sorted(sessions, key=lambda s: (s.days[0], s.number, s.id))
    sessions_of: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for session in ordered:
        for cooperative in session.cooperative_ids:
            sessions_of[cooperative].append(session.id)
    room = {session.id: session.participants for session in sessions}
    quota = {(session.id, cooperative): people for session in sessions for cooperative, people in session.seats}

    def free(session: uuid.UUID, cooperative: uuid.UUID) -> bool:
        return quota.get((session, cooperative), room[session]) > 0

    def take(people: Sequence[uuid.UUID], session: uuid.UUID, cooperative: uuid.UUID) -> None:
        """Seat these people of the cooperative in the session (a whole team at once: a province
        is 68,000 people)."""
        seats.update(dict.fromkeys(people, session))
        room[session] -= len(people)
        if (session, cooperative) in quota:
            quota[(session, cooperative)] -= len(people)

    seats: dict[uuid.UUID, uuid.UUID] = {}
    split = []
    for cooperative in sorted(sessions_of):
        held = sessions_of[cooperative]
        if len(held) == 1:
            take(members.get(cooperative, ()), held[0], cooperative)
        else:
            split.append(cooperative)
    # Everyone of a split team who may stay stays, before anyone else takes a seat.
    newcomers: list[tuple[uuid.UUID, uuid.UUID]] = []
    for cooperative in split:
        for participant in members.get(cooperative, ()):
            was = previous.get(participant)
            if was in sessions_of[cooperative] and free(was, cooperative):
                take((participant,), was, cooperative)
            else:
                newcomers.append((participant, cooperative))
    for participant, cooperative in newcomers:
        held = sessions_of[cooperative]
        take((participant,), next((s for s in held if free(s, cooperative)), held[-1]), cooperative)
    return seats


def seats_of(session: PlannedSession) -> tuple[tuple[uuid.UUID, int], ...]:
    """(cooperative, its people in the session): the planner's, or for a session of one cooperative
    its head count."""
    if session.seats or not session.cooperative_ids:
        return session.seats
    if len(session.cooperative_ids) == 1:
        return ((session.cooperative_ids[0], session.participants),)
    raise ValueError(f"session {session.id} holds several cooperatives but says nothing of their seats")


# -- what a publication changes ------------------------------------------------------------------------
@dataclass(frozen=True)
class SessionChange:
    session: PlannedSession
    changed: tuple[str, ...]  # days, venue, resource_persons, cooperatives, participants


@dataclass(frozen=True)
class PlanChanges:
    scheduled: tuple[PlannedSession, ...]  # new sessions
    rescheduled: tuple[SessionChange, ...]  # sessions that changed
    cancelled: tuple[PlannedSession, ...]  # published sessions the new plan no longer has
    seats: Mapping[uuid.UUID, uuid.UUID]  # every participant's session under the new plan
    moved: tuple[uuid.UUID, ...]  # participants placed for the first time or moved, in id order
    unseated: tuple[uuid.UUID, ...]  # participants who had a session and now have none

    @property
    def nothing(self) -> bool:
        return not (self.scheduled or self.rescheduled or self.cancelled or self.moved or self.unseated)


def compare(published: Sequence[PlannedSession], new: Sequence[PlannedSession],
            published_seats: Mapping[uuid.UUID, uuid.UUID], new_seats: Mapping[uuid.UUID, uuid.UUID]) -> PlanChanges:
    """What publishing ``new`` over ``published`` changes, session by session and seat by seat."""
    before = {session.id: session for session in published}
    after = {session.id: session for session in new}
    rescheduled = []
    for session in new:
        old = before.get(session.id)
        if old is not None:
            changed = session_differences(old, session)
            if changed:
                rescheduled.append(SessionChange(session, changed))
    return PlanChanges(
        scheduled=tuple(session for session in new if session.id not in before),
        rescheduled=tuple(rescheduled),
        cancelled=tuple(session for session in published if session.id not in after),
        seats=dict(new_seats),
        # By the ids' numbers, as UUIDs order, without a Python comparison per pair.
        moved=tuple(sorted((p for p, s in new_seats.items() if published_seats.get(p) != s), key=_number)),
        unseated=tuple(sorted((p for p in published_seats if p not in new_seats), key=_number)),
    )


def _number(id_: uuid.UUID) -> int:
    return id_.int


def session_differences(old: PlannedSession, new: PlannedSession) -> tuple[str, ...]:
    checks = (
        ("days", old.days != new.days),
        ("venue", old.venue_id != new.venue_id),
        ("resource_persons", set(old.resource_person_ids) != set(new.resource_person_ids)),
        ("cooperatives", set(old.cooperative_ids) != set(new.cooperative_ids)),
        ("participants", old.participants != new.participants or dict(seats_of(old)) != dict(seats_of(new))),
    )
    return tuple(name for name, differs in checks if differs)


@dataclass(frozen=True)
class PublishedSession:
    """A session of the published plan as it stands, with what only publication adds."""

    planned: PlannedSession
    version: int
    locked: bool = False
    closed: bool = False

    @property
    def fixed(self) -> bool:
        """A re-plan must leave it exactly as it is."""
        return self.locked or self.closed
