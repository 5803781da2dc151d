"""Use cases of programmes, venues and resource persons: create, change, read and list them.

A change that a published plan depends on (a programme's window or neighbours, a used venue's
seats or days, a booked resource person's topics or days) requests a re-plan of that programme in
the same transaction (``plans.request_replans``).
"""
from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from bimtek_shared.contracts.caller import Caller, require_role
from bimtek_shared.contracts.errors import DomainError
from bimtek_shared.contracts.ids import parse_id
from bimtek_shared.contracts.pagination import SortOrder, decode_cursor, page_of

from ..domain import programmes as domain
from . import plans
from .access import PLANNERS, READERS, RESOURCE_PERSON_MANAGERS, listed_regency, require_regency
from .commands import (
    DateRange, ListProgrammes, ListResourcePersons, ListVenues, NewProgramme, NewResourcePerson, NewVenue,
    ProgrammeChanges, ResourcePersonChanges, VenueChanges, fields_sent,
)
from .unit_of_work import SchedulingUnitOfWork

PROGRAMME_SORTS: dict[str, type] = {"window_start": date, "created_at": datetime, "title": str}
VENUE_SORTS: dict[str, type] = {"name": str, "created_at": datetime}
# Never by name: a cursor travels in URLs, and a person's name must not.
RESOURCE_PERSON_SORTS: dict[str, type] = {"created_at": datetime}


def _days(ranges: list[DateRange] | None, field_name: str = "available") -> frozenset:
    return domain.days_of(((r.start, r.end) for r in ranges or ()), field_name)


def _page(query, sorts: dict[str, type], default: str, fetch, key_of) -> dict[str, Any]:
    order = SortOrder.parse(query.sort or default, list(sorts))
    after = decode_cursor(query.cursor, order, (sorts[order.field], uuid.UUID)) if query.cursor else None
    rows = fetch(order, after, query.limit + 1)
    items, next_cursor = page_of(rows, query.limit, order, lambda item: (key_of(item, order.field), item.id))
    return {"items": items, "next_cursor": next_cursor, "limit": query.limit}


# -- programmes --------------------------------------------------------------------------------------
def create_programme(uow: SchedulingUnitOfWork, caller: Caller | None, command: NewProgramme) -> dict[str, Any]:
    caller = require_role(caller, PLANNERS)
    require_regency(caller, command.regency)
    programme = domain.new_programme(
        regency=command.regency, title=command.title, topics=[(t.topic, t.hours) for t in command.topics],
        days_per_session=command.days_per_session, window_start=command.window_start,
        window_end=command.window_end, min_attendance_days=command.min_attendance_days,
        neighbours=[tuple(pair) for pair in command.neighbours], id=caller.new_id("programme"),
    )
    with uow:
        earlier = uow.programmes.get(programme.id, caller.regency_scope)
        if earlier is not None:  # a retry of a write that committed (see Caller.new_id)
            return programme_view(uow, earlier)
        uow.programmes.add(programme)
        uow.commit()
        return programme_view(uow, programme)


def update_programme(uow: SchedulingUnitOfWork, caller: Caller | None, programme_id: str,
                     changes: ProgrammeChanges) -> dict[str, Any]:
    caller = require_role(caller, PLANNERS)
    pid = parse_id(programme_id, "programme_not_found")
    wanted = changes.domain_changes()
    with uow:
        programme = uow.programmes.get(pid, caller.regency_scope, lock=True)
        if programme is None:
            raise DomainError("programme_not_found")
        changed = domain.change_programme(programme, wanted)
        if changed:
            uow.programmes.save(programme)
            if programme.published and domain.PLANNING_INPUTS & set(changed):
                plans.request_replans(uow, [(programme.id, programme.regency)])
            uow.commit()
        return programme_view(uow, programme)


def get_programme(uow: SchedulingUnitOfWork, caller: Caller | None, programme_id: str) -> dict[str, Any]:
    caller = require_role(caller, READERS)
    pid = parse_id(programme_id, "programme_not_found")
    with uow:
        programme = uow.programmes.get(pid, caller.regency_scope)
        if programme is None:
            raise DomainError("programme_not_found")
        return programme_view(uow, programme)


def list_programmes(uow: SchedulingUnitOfWork, caller: Caller | None, query: ListProgrammes) -> dict[str, Any]:
    caller = require_role(caller, READERS)
    regency = listed_regency(caller, query.regency)
    with uow:
        page = _page(query, PROGRAMME_SORTS, "window_start",
                     lambda order, after, limit: uow.programmes.list_page(regency=regency, order=order, after=after,
                                                                          limit=limit),
                     lambda programme, field: getattr(programme, field))
    page["items"] = [programme_summary(programme) for programme in page["items"]]
    return page


def programme_summary(programme: domain.TrainingProgramme) -> dict[str, Any]:
    return {
        "id": str(programme.id), "regency": programme.regency, "title": programme.title,
        "topics": [{"topic": topic, "hours": hours} for topic, hours in programme.topics],
        "total_hours": programme.total_hours, "days_per_session": programme.days_per_session,
        "window_start": programme.window_start.isoformat(), "window_end": programme.window_end.isoformat(),
        "min_attendance_days": programme.min_attendance_days,
        "neighbours": [list(pair) for pair in programme.neighbours], "published": programme.published,
        "version": programme.version, "created_at": programme.created_at.isoformat(),
        "updated_at": programme.updated_at.isoformat(),
    }


def programme_view(uow: SchedulingUnitOfWork, programme: domain.TrainingProgramme) -> dict[str, Any]:
    """A programme with the state of its plan: published or not, and whether a re-plan is due."""
    published = uow.plans.published(programme.id)
    requested, handled = uow.plans.replan_state(programme.id)
    return {**programme_summary(programme), "published": published is not None, "plan": {
        "plan_id": str(published["id"]) if published else None,
        "revision": published["revision"] if published else None,
        "published_at": published["published_at"].isoformat() if published else None,
        "replan_pending": requested > handled,
    }}


# -- venues ------------------------------------------------------------------------------------------
def create_venue(uow: SchedulingUnitOfWork, caller: Caller | None, command: NewVenue) -> dict[str, Any]:
    caller = require_role(caller, PLANNERS)
    require_regency(caller, command.regency)
    venue = domain.new_venue(regency=command.regency, name=command.name, capacity=command.capacity,
                             available=_days(command.available), id=caller.new_id("venue"))
    with uow:
        earlier = uow.venues.get(venue.id, caller.regency_scope)
        if earlier is not None:  # a retry of a write that committed (see Caller.new_id)
            return venue_view(earlier)
        uow.venues.add(venue)
        uow.commit()
    return venue_view(venue)


def update_venue(uow: SchedulingUnitOfWork, caller: Caller | None, venue_id: str,
                 changes: VenueChanges) -> dict[str, Any]:
    caller = require_role(caller, PLANNERS)
    vid = parse_id(venue_id, "venue_not_found")
    wanted = fields_sent(changes)
    if "available" in wanted:
        wanted["available"] = _days(changes.available)
    with uow:
        venue = uow.venues.get(vid, caller.regency_scope, lock=True)
        if venue is None:
            raise DomainError("venue_not_found")
        changed = domain.change_venue(venue, wanted)
        if changed:
            uow.venues.save(venue, changed)
            if {"capacity", "available"} & set(changed):  # a day lost or seats fewer: its sessions may move
                plans.request_replans(uow, uow.plans.programmes_using(venue_id=venue.id))
            uow.commit()
    return venue_view(venue)


def get_venue(uow: SchedulingUnitOfWork, caller: Caller | None, venue_id: str) -> dict[str, Any]:
    caller = require_role(caller, READERS)
    vid = parse_id(venue_id, "venue_not_found")
    with uow:
        venue = uow.venues.get(vid, caller.regency_scope)
    if venue is None:
        raise DomainError("venue_not_found")
    return venue_view(venue)


def list_venues(uow: SchedulingUnitOfWork, caller: Caller | None, query: ListVenues) -> dict[str, Any]:
    caller = require_role(caller, READERS)
    regency = listed_regency(caller, query.regency)
    with uow:
        page = _page(query, VENUE_SORTS, "name",
                     lambda order, after, limit: uow.venues.list_page(regency=regency, order=order, after=after,
                                                                      limit=limit),
                     lambda venue, field: getattr(venue, field))
    page["items"] = [venue_view(venue) for venue in page["items"]]
    return page


def _ranges_view(days: frozenset) -> list[dict[str, str]]:
    return [{"start": first.isoformat(), "end": last.isoformat()} for first, last in domain.ranges_of(days)]


def venue_view(venue: domain.Venue) -> dict[str, Any]:
    return {"id": str(venue.id), "regency": venue.regency, "name": venue.name, "capacity": venue.capacity,
            "available": _ranges_view(venue.available), "version": venue.version,
            "created_at": venue.created_at.isoformat(), "updated_at": venue.updated_at.isoformat()}


# -- resource persons ----------------------------------------------------------------------------------
def create_resource_person(uow: SchedulingUnitOfWork, caller: Caller | None,
                           command: NewResourcePerson) -> dict[str, Any]:
    caller = require_role(caller, RESOURCE_PERSON_MANAGERS)
    person = domain.new_resource_person(name=command.name, topics=command.topics, available=_days(command.available),
                                        id=caller.new_id("resource_person"))
    with uow:
        earlier = uow.resource_persons.get(person.id)
        if earlier is not None:  # a retry of a write that committed (see Caller.new_id)
            return resource_person_view(earlier)
        uow.resource_persons.add(person)
        uow.commit()
    return resource_person_view(person)


def update_resource_person(uow: SchedulingUnitOfWork, caller: Caller | None, person_id: str,
                           changes: ResourcePersonChanges) -> dict[str, Any]:
    require_role(caller, RESOURCE_PERSON_MANAGERS)
    rid = parse_id(person_id, "resource_person_not_found")
    wanted = fields_sent(changes)
    if "available" in wanted:
        wanted["available"] = _days(changes.available)
    with uow:
        person = uow.resource_persons.get(rid, lock=True)
        if person is None:
            raise DomainError("resource_person_not_found")
        changed = domain.change_resource_person(person, wanted)
        if changed:
            uow.resource_persons.save(person, changed)
            if {"topics", "available"} & set(changed):  # every programme that booked them, in any regency
                plans.request_replans(uow, uow.plans.programmes_using(person_id=person.id))
            uow.commit()
    return resource_person_view(person)


def get_resource_person(uow: SchedulingUnitOfWork, caller: Caller | None, person_id: str) -> dict[str, Any]:
    require_role(caller, READERS)
    rid = parse_id(person_id, "resource_person_not_found")
    with uow:
        person = uow.resource_persons.get(rid)
    if person is None:
        raise DomainError("resource_person_not_found")
    return resource_person_view(person)


def list_resource_persons(uow: SchedulingUnitOfWork, caller: Caller | None,
                          query: ListResourcePersons) -> dict[str, Any]:
    require_role(caller, READERS)
    with uow:
        page = _page(query, RESOURCE_PERSON_SORTS, "created_at",
                     lambda order, after, limit: uow.resource_persons.list_page(order=order, after=after, limit=limit),
                     lambda person, field: getattr(person, field))
    page["items"] = [resource_person_view(person) for person in page["items"]]
    return page


def resource_person_view(person: domain.ResourcePerson) -> dict[str, Any]:
    return {"id": str(person.id), "name": person.name, "topics": sorted(person.topics),
            "available": _ranges_view(person.available), "version": person.version,
            "created_at": person.created_at.isoformat(), "updated_at": person.updated_at.isoformat()}
