"""Programmes, venues and resource persons: what a regency plans with, and the rules they keep.

A programme (e.g. "Bimtek Perkoperasian KDMP Kabupaten Jombang 2025") belongs to one regency: its
curriculum (topics with their hours, JP), the days of each session, the date window and the days a
participant must attend to complete. Venues belong to a regency too. Resource persons (narasumber)
are provincial staff shared by every regency, so they belong to none.

Availability is kept as a set of days; callers send and read it as date ranges.
"""
from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from typing import Any

from bimtek_shared.contracts.errors import DomainError

from . import planning

MAX_WINDOW_DAYS = 366  # a programme is planned within a year
MAX_AVAILABLE_DAYS = 731  # two years of availability at a time
MAX_DAYS_PER_SESSION = 10
MAX_TOPICS = 40
MAX_HOURS_PER_TOPIC = 100


def _invalid(field_name: str, message: str) -> DomainError:
    return DomainError("validation_failed", {"errors": [{"field": field_name, "message": message}]})


def clean_topic(text: str) -> str:
    """A topic as it is compared: spaces collapsed (resource persons' topics must match the curriculum's)."""
    return re.sub(r"\s+", " ", text).strip()


# -- availability ----------------------------------------------------------------------------------
def days_of(ranges: Iterable[tuple[date, date]], field_name: str = "available") -> frozenset[date]:
    """Every day of the (first, last) ranges, both ends included."""
    days: set[date] = set()
    for first, last in ranges:
        if last < first:
            raise _invalid(field_name, "a range ends before it starts")
        span = (last - first).days + 1
        if span + len(days) > MAX_AVAILABLE_DAYS:
            raise _invalid(field_name, f"at most {MAX_AVAILABLE_DAYS} days")
        days.update(first + timedelta(days=n) for n in range(span))
    return frozenset(days)


def ranges_of(days: Iterable[date]) -> list[tuple[date, date]]:
    """Days as the fewest (first, last) ranges of consecutive days, in order."""
    ranges: list[tuple[date, date]] = []
    for day in sorted(days):
        if ranges and day == ranges[-1][1] + timedelta(days=1):
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


# -- programmes --------------------------------------------------------------------------------------
@dataclass
class TrainingProgramme:
    id: uuid.UUID
    regency: str
    title: str
    topics: tuple[tuple[str, int], ...]  # (topic, JP), in curriculum order
    days_per_session: int
    window_start: date
    window_end: date
    min_attendance_days: int
    # Kecamatan the regency says are neighbours (pairs of codes); empty: code order decides.
    neighbours: tuple[tuple[str, str], ...] = ()
    version: int = 1
    published: bool = False
    created_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    updated_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @property
    def total_hours(self) -> int:
        return sum(hours for _, hours in self.topics)

    def for_planning(self) -> planning.Programme:
        return planning.Programme(
            id=self.id, regency=self.regency, title=self.title, topics=self.topics,
            days_per_session=self.days_per_session, window_start=self.window_start, window_end=self.window_end,
            min_attendance_days=self.min_attendance_days,
        )

    def neighbour_pairs(self) -> frozenset[tuple[str, str]] | None:
        """Symmetric pairs for the planner; None when the regency gave none (code order then)."""
        if not self.neighbours:
            return None
        return frozenset(pair for a, b in self.neighbours for pair in ((a, b), (b, a)))


PROGRAMME_FIELDS = ("title", "topics", "days_per_session", "window_start", "window_end", "min_attendance_days",
                    "neighbours")
# What a published plan rests on: changing it would leave every session the wrong shape, or change
# the completion rule participants were told (and certificates was sent in programme.published).
STRUCTURE = frozenset({"topics", "days_per_session", "min_attendance_days"})
# What a re-plan of a published programme must follow.
PLANNING_INPUTS = frozenset({"window_start", "window_end", "neighbours"})


def new_programme(*, regency: str, title: str, topics: Iterable[tuple[str, int]], days_per_session: int,
                  window_start: date, window_end: date, min_attendance_days: int,
                  neighbours: Iterable[tuple[str, str]] = (), id: uuid.UUID | None = None) -> TrainingProgramme:
    programme = TrainingProgramme(
        id=id or uuid.uuid4(), regency=regency, title=title.strip(), topics=_clean_topics(topics),
        days_per_session=days_per_session, window_start=window_start, window_end=window_end,
        min_attendance_days=min_attendance_days, neighbours=_clean_neighbours(neighbours, regency),
    )
    _check(programme)
    return programme


def change_programme(programme: TrainingProgramme, changes: Mapping[str, Any]) -> list[str]:
    """Apply the fields sent; returns the names of those that changed (the version is raised if any)."""
    wanted = dict(changes)
    if "topics" in wanted:
        wanted["topics"] = _clean_topics(wanted["topics"])
    if "neighbours" in wanted:
        wanted["neighbours"] = _clean_neighbours(wanted["neighbours"] or (), programme.regency)
    if "title" in wanted:
        wanted["title"] = wanted["title"].strip()
    changed = [name for name in PROGRAMME_FIELDS if name in wanted and wanted[name] != getattr(programme, name)]
    if not changed:
        return []
    if programme.published and STRUCTURE & set(changed):
        raise DomainError("programme_structure_fixed")
    updated = replace(programme, **{name: wanted[name] for name in changed})
    _check(updated)
    for name in changed:
        setattr(programme, name, wanted[name])
    programme.version += 1
    programme.updated_at = datetime.now(timezone.utc)
    return changed


def _clean_topics(topics: Iterable[tuple[str, int]]) -> tuple[tuple[str, int], ...]:
    cleaned = tuple((clean_topic(topic), int(hours)) for topic, hours in topics)
    names = [topic for topic, _ in cleaned]
    if not cleaned or len(cleaned) > MAX_TOPICS:
        raise _invalid("topics", f"1 to {MAX_TOPICS} topics")
    if any(not topic for topic in names):
        raise _invalid("topics", "a topic needs a name")
    if len(set(names)) != len(names):
        raise _invalid("topics", "each topic once")
    if any(not 1 <= hours <= MAX_HOURS_PER_TOPIC for _, hours in cleaned):
        raise _invalid("topics", f"each topic 1 to {MAX_HOURS_PER_TOPIC} JP")
    return cleaned


def _clean_neighbours(pairs: Iterable[tuple[str, str]], regency: str) -> tuple[tuple[str, str], ...]:
    cleaned = set()
    for a, b in pairs:
        if a == b:
            raise _invalid("neighbours", "a kecamatan is not its own neighbour")
        if not (a.startswith(regency + ".") and b.startswith(regency + ".")):
            raise _invalid("neighbours", "kecamatan of the programme's own regency only")
        cleaned.add((min(a, b), max(a, b)))
    return tuple(sorted(cleaned))


def _check(programme: TrainingProgramme) -> None:
    if not programme.title:
        raise _invalid("title", "required")
    if programme.window_end < programme.window_start:
        raise _invalid("window_end", "on or after window_start")
    if (programme.window_end - programme.window_start).days + 1 > MAX_WINDOW_DAYS:
        raise _invalid("window_end", f"a window of at most {MAX_WINDOW_DAYS} days")
    if not 1 <= programme.days_per_session <= MAX_DAYS_PER_SESSION:
        raise _invalid("days_per_session", f"1 to {MAX_DAYS_PER_SESSION}")
    if not 1 <= programme.min_attendance_days <= programme.days_per_session:
        raise _invalid("min_attendance_days", "1 to days_per_session")


# -- venues and resource persons ------------------------------------------------------------------------
@dataclass
class Venue:
    id: uuid.UUID
    regency: str
    name: str
    capacity: int
    available: frozenset[date]
    version: int = 1
    created_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    updated_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    def for_planning(self) -> planning.Venue:
        return planning.Venue(id=self.id, regency=self.regency, name=self.name, capacity=self.capacity,
                              available=self.available)


@dataclass
class ResourcePerson:
    id: uuid.UUID
    name: str
    topics: frozenset[str]
    available: frozenset[date]
    version: int = 1
    created_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    updated_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    def for_planning(self) -> planning.ResourcePerson:
        return planning.ResourcePerson(id=self.id, name=self.name, topics=self.topics, available=self.available)


MAX_CAPACITY = 5_000


def new_venue(*, regency: str, name: str, capacity: int, available: frozenset[date],
              id: uuid.UUID | None = None) -> Venue:
    venue = Venue(id=id or uuid.uuid4(), regency=regency, name=name.strip(), capacity=capacity, available=available)
    _check_venue(venue)
    return venue


def change_venue(venue: Venue, changes: Mapping[str, Any]) -> list[str]:
    wanted = {**changes, **({"name": changes["name"].strip()} if "name" in changes else {})}
    changed = [name for name in ("name", "capacity", "available") if name in wanted
               and wanted[name] != getattr(venue, name)]
    if changed:
        _check_venue(replace(venue, **{name: wanted[name] for name in changed}))
        for name in changed:
            setattr(venue, name, wanted[name])
        venue.version += 1
        venue.updated_at = datetime.now(timezone.utc)
    return changed


def _check_venue(venue: Venue) -> None:
    if not venue.name:
        raise _invalid("name", "required")
    if not 1 <= venue.capacity <= MAX_CAPACITY:
        raise _invalid("capacity", f"1 to {MAX_CAPACITY} seats")


def new_resource_person(*, name: str, topics: Iterable[str], available: frozenset[date],
                        id: uuid.UUID | None = None) -> ResourcePerson:
    person = ResourcePerson(id=id or uuid.uuid4(), name=name.strip(), topics=_clean_person_topics(topics),
                            available=available)
    if not person.name:
        raise _invalid("name", "required")
    return person


def change_resource_person(person: ResourcePerson, changes: Mapping[str, Any]) -> list[str]:
    wanted = dict(changes)
    if "topics" in wanted:
        wanted["topics"] = _clean_person_topics(wanted["topics"])
    if "name" in wanted:
        wanted["name"] = wanted["name"].strip()
        if not wanted["name"]:
            raise _invalid("name", "required")
    changed = [name for name in ("name", "topics", "available") if name in wanted
               and wanted[name] != getattr(person, name)]
    for name in changed:
        setattr(person, name, wanted[name])
    if changed:
        person.version += 1
        person.updated_at = datetime.now(timezone.utc)
    return changed


def _clean_person_topics(topics: Iterable[str]) -> frozenset[str]:
    cleaned = frozenset(clean_topic(topic) for topic in topics)
    if not cleaned or "" in cleaned or len(cleaned) > MAX_TOPICS:
        raise _invalid("topics", f"1 to {MAX_TOPICS} named topics")
    return cleaned
