"""What the planner takes and gives: plain data, no framework.

The planner (``planner.plan``) turns a regency's cooperatives into one-day (or n-day) sessions in one
or more venues, on working days, each with its resource persons, and says why each session holds
whom. The same function plans a regency, or every regency of a province in one call (resource
persons are shared by the province, so their days must be decided together).

Everything here is immutable and ordered deterministically (ids and codes sort), so the same
problem always gives the same plan.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class Team:
    """A cooperative's people to be trained: they always sit in the same session."""
    cooperative_id: uuid.UUID
    regency: str  # "35.17"
    district: str  # kecamatan code, "35.17.09": the cooperative's first village's kecamatan
    participants: int
    name: str = ""  # for explanations only


@dataclass(frozen=True)
class Venue:
    id: uuid.UUID
    regency: str
    name: str
    capacity: int
    available: frozenset[date]  # the days it may be used (working days are filtered again)


@dataclass(frozen=True)
class ResourcePerson:
    """A narasumber of the provincial training unit, shared by every regency."""
    id: uuid.UUID
    name: str
    topics: frozenset[str]
    available: frozenset[date]


@dataclass(frozen=True)
class Programme:
    id: uuid.UUID
    regency: str
    title: str
    topics: tuple[tuple[str, int], ...]  # (topic, hours in JP), in curriculum order
    days_per_session: int
    window_start: date
    window_end: date
    min_attendance_days: int  # days a participant must attend to complete


@dataclass(frozen=True)
class Previous:
    """The published plan a re-plan must disturb as little as possible."""
    sessions: tuple["PlannedSession", ...]
    locked_sessions: frozenset[uuid.UUID] = frozenset()  # never changed: not its day, venue or teams
    pinned: tuple[tuple[uuid.UUID, uuid.UUID], ...] = ()  # (cooperative, session) moved by hand


@dataclass(frozen=True)
class PlanningProblem:
    programmes: tuple[Programme, ...]  # one per regency planned together
    teams: tuple[Team, ...]
    venues: tuple[Venue, ...]
    resource_persons: tuple[ResourcePerson, ...]
    non_working_days: frozenset[date]  # national holidays and cuti bersama (weekends are implied)
    # Days a resource person is already booked elsewhere (other regencies' published plans).
    booked: tuple[tuple[uuid.UUID, date], ...] = ()
    # Kecamatan adjacency a regency supplied: pairs of district codes (symmetric). None: code order.
    neighbours: frozenset[tuple[str, str]] | None = None
    previous: Previous | None = None


@dataclass(frozen=True)
class PlannedSession:
    id: uuid.UUID  # stable: derived from the programme and the session's number on first planning
    programme_id: uuid.UUID
    regency: str
    number: int  # 1, 2, ... in date order within the programme
    days: tuple[date, ...]
    venue_id: uuid.UUID
    resource_person_ids: tuple[uuid.UUID, ...]
    cooperative_ids: tuple[uuid.UUID, ...]
    participants: int
    why: tuple[str, ...] = ()  # explanation lines, in Bahasa Indonesia (codes in ``reasons``)
    reasons: tuple[tuple[str, dict], ...] = ()  # (reason code, params) for other languages
    # (cooperative, its people in this session), in ``cooperative_ids`` order. A team sits whole in
    # one session, except late members who found no room in their team's session on a re-plan;
    # a re-plan needs these counts to know who already has a seat where.
    seats: tuple[tuple[uuid.UUID, int], ...] = ()


@dataclass(frozen=True)
class Figures:
    """Goals (1) to (4) of a plan, reported with every plan, per regency."""
    sessions: int
    sessions_lower_bound: int  # ceil(participants / largest venue capacity)
    districts_split: int  # kecamatan whose cooperatives sit in more than one session
    shared_sessions_with_non_neighbours: int  # sessions mixing kecamatan that are not neighbours
    finish: date | None


@dataclass(frozen=True)
class Unplaced:
    cooperative_id: uuid.UUID
    reason: str  # code, e.g. "no_capacity_in_window", "team_larger_than_venue"
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Plan:
    sessions: tuple[PlannedSession, ...]
    figures: dict[str, Figures]  # by regency
    unplaced: tuple[Unplaced, ...] = ()
    moved: tuple[uuid.UUID, ...] = ()  # on a re-plan: cooperatives whose session changed
