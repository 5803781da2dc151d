"""Programmes, venues and resource persons in the scheduling database."""
from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import delete, exists, insert, select, tuple_, update
from sqlalchemy.orm import Session

from bimtek_shared.contracts.pagination import SortOrder

from ..domain.programmes import ResourcePerson, TrainingProgramme, Venue
from .orm import plans, programmes, resource_person_available_days, resource_persons, venue_days, venues


def _page(session: Session, table, columns, *, order: SortOrder, after: tuple | None, limit: int,
          where=()) -> list[dict[str, Any]]:
    """A keyset page of ``table`` in ``order`` after the sort key ``after``; the id breaks ties."""
    sorted_by = table.c[order.field]
    query = select(*columns).where(*where)
    if after is not None:
        key = tuple_(sorted_by, table.c.id)
        query = query.where(key < after if order.descending else key > after)
    if order.descending:
        query = query.order_by(sorted_by.desc(), table.c.id.desc())
    else:
        query = query.order_by(sorted_by, table.c.id)
    return [dict(row) for row in session.execute(query.limit(limit)).mappings()]


class ProgrammeRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, programme: TrainingProgramme) -> None:
        self._session.execute(insert(programmes).values(id=programme.id, regency=programme.regency,
                                                        created_at=programme.created_at, **self._fields(programme)))

    def save(self, programme: TrainingProgramme) -> None:
        self._session.execute(update(programmes).where(programmes.c.id == programme.id)
                              .values(**self._fields(programme)))

    @staticmethod
    def _fields(programme: TrainingProgramme) -> dict[str, Any]:
        return {"title": programme.title, "topics": [list(topic) for topic in programme.topics],
                "days_per_session": programme.days_per_session, "window_start": programme.window_start,
                "window_end": programme.window_end, "min_attendance_days": programme.min_attendance_days,
                "neighbours": [list(pair) for pair in programme.neighbours], "version": programme.version,
                "updated_at": programme.updated_at}

    def get(self, programme_id: uuid.UUID, regency: str | None, *, lock: bool = False) -> TrainingProgramme | None:
        """The programme if ``regency`` (None: any) holds it. ``lock``: until the transaction ends,
        so that previews, publications and re-plans of one programme take turns."""
        query = select(programmes, self._published()).where(programmes.c.id == programme_id)
        if regency is not None:
            query = query.where(programmes.c.regency == regency)
        if lock:
            query = query.with_for_update(of=programmes)
        row = self._session.execute(query).mappings().first()
        return None if row is None else self.from_row(row)

    @staticmethod
    def _published():
        return exists().where(plans.c.programme_id == programmes.c.id, plans.c.status == "published") \
            .label("published")

    @staticmethod
    def from_row(row: Any) -> TrainingProgramme:
        return TrainingProgramme(
            id=row["id"], regency=row["regency"], title=row["title"],
            topics=tuple((topic, hours) for topic, hours in row["topics"]),
            days_per_session=row["days_per_session"], window_start=row["window_start"],
            window_end=row["window_end"], min_attendance_days=row["min_attendance_days"],
            neighbours=tuple((a, b) for a, b in row["neighbours"]), version=row["version"],
            published=bool(row["published"]), created_at=row["created_at"], updated_at=row["updated_at"],
        )

    def list_page(self, *, regency: str | None, order: SortOrder, after: tuple | None,
                  limit: int) -> list[TrainingProgramme]:
        rows = _page(self._session, programmes, [*programmes.c, self._published()], order=order, after=after,
                     limit=limit, where=[programmes.c.regency == regency] if regency else [])
        return [self.from_row(row) for row in rows]

    def published_in(self, regencies: set[str]) -> list[tuple[uuid.UUID, str]]:
        """(id, regency) of the programmes of these regencies whose plan is published."""
        if not regencies:
            return []
        rows = self._session.execute(
            select(programmes.c.id, programmes.c.regency)
            .where(programmes.c.regency.in_(sorted(regencies)), self._published()).order_by(programmes.c.id))
        return [(programme_id, regency) for programme_id, regency in rows]


def _replace_days(session: Session, table, owner_column: str, owner: uuid.UUID, days: frozenset[date]) -> None:
    session.execute(delete(table).where(table.c[owner_column] == owner))
    if days:
        session.execute(insert(table), [{owner_column: owner, "day": day} for day in sorted(days)])


def _days_by_owner(session: Session, table, owner_column: str, owners: list[uuid.UUID]) -> dict[uuid.UUID, set[date]]:
    found: dict[uuid.UUID, set[date]] = {owner: set() for owner in owners}
    if owners:
        for owner, day in session.execute(select(table.c[owner_column], table.c.day)
                                          .where(table.c[owner_column].in_(owners))):
            found[owner].add(day)
    return found


class VenueRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, venue: Venue) -> None:
        self._session.execute(insert(venues).values(id=venue.id, regency=venue.regency, name=venue.name,
                                                    capacity=venue.capacity, version=venue.version,
                                                    created_at=venue.created_at, updated_at=venue.updated_at))
        _replace_days(self._session, venue_days, "venue_id", venue.id, venue.available)

    def save(self, venue: Venue, changed: list[str]) -> None:
        self._session.execute(update(venues).where(venues.c.id == venue.id).values(
            name=venue.name, capacity=venue.capacity, version=venue.version, updated_at=venue.updated_at))
        if "available" in changed:
            _replace_days(self._session, venue_days, "venue_id", venue.id, venue.available)

    def get(self, venue_id: uuid.UUID, regency: str | None, *, lock: bool = False) -> Venue | None:
        query = select(venues).where(venues.c.id == venue_id)
        if regency is not None:
            query = query.where(venues.c.regency == regency)
        if lock:
            query = query.with_for_update()
        row = self._session.execute(query).mappings().first()
        return None if row is None else self._with_days([row])[0]

    def of_regencies(self, regencies: list[str]) -> list[Venue]:
        rows = self._session.execute(select(venues).where(venues.c.regency.in_(sorted(regencies)))
                                     .order_by(venues.c.regency, venues.c.id))
        return self._with_days(list(rows.mappings()))

    def names(self, venue_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
        if not venue_ids:
            return {}
        return dict(self._session.execute(select(venues.c.id, venues.c.name).where(venues.c.id.in_(venue_ids))).all())

    def list_page(self, *, regency: str | None, order: SortOrder, after: tuple | None, limit: int) -> list[Venue]:
        rows = _page(self._session, venues, list(venues.c), order=order, after=after, limit=limit,
                     where=[venues.c.regency == regency] if regency else [])
        return self._with_days(rows)

    def _with_days(self, rows: list[Any]) -> list[Venue]:
        days = _days_by_owner(self._session, venue_days, "venue_id", [row["id"] for row in rows])
        return [Venue(id=row["id"], regency=row["regency"], name=row["name"], capacity=row["capacity"],
                      available=frozenset(days[row["id"]]), version=row["version"], created_at=row["created_at"],
                      updated_at=row["updated_at"]) for row in rows]


class ResourcePersonRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, person: ResourcePerson) -> None:
        self._session.execute(insert(resource_persons).values(
            id=person.id, name=person.name, topics=sorted(person.topics), version=person.version,
            created_at=person.created_at, updated_at=person.updated_at))
        _replace_days(self._session, resource_person_available_days, "person_id", person.id, person.available)

    def save(self, person: ResourcePerson, changed: list[str]) -> None:
        self._session.execute(update(resource_persons).where(resource_persons.c.id == person.id).values(
            name=person.name, topics=sorted(person.topics), version=person.version, updated_at=person.updated_at))
        if "available" in changed:
            _replace_days(self._session, resource_person_available_days, "person_id", person.id, person.available)

    def get(self, person_id: uuid.UUID, *, lock: bool = False) -> ResourcePerson | None:
        query = select(resource_persons).where(resource_persons.c.id == person_id)
        if lock:
            query = query.with_for_update()
        row = self._session.execute(query).mappings().first()
        return None if row is None else self._with_days([row])[0]

    def everyone(self) -> list[ResourcePerson]:
        rows = self._session.execute(select(resource_persons).order_by(resource_persons.c.id)).mappings()
        return self._with_days(list(rows))

    def names(self, person_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
        if not person_ids:
            return {}
        return dict(self._session.execute(select(resource_persons.c.id, resource_persons.c.name)
                                          .where(resource_persons.c.id.in_(person_ids))).all())

    def list_page(self, *, order: SortOrder, after: tuple | None, limit: int) -> list[ResourcePerson]:
        rows = _page(self._session, resource_persons, list(resource_persons.c), order=order, after=after, limit=limit)
        return self._with_days(rows)

    def _with_days(self, rows: list[Any]) -> list[ResourcePerson]:
        days = _days_by_owner(self._session, resource_person_available_days, "person_id", [row["id"] for row in rows])
        return [ResourcePerson(id=row["id"], name=row["name"], topics=frozenset(row["topics"]),
                               available=frozenset(days[row["id"]]), version=row["version"],
                               created_at=row["created_at"], updated_at=row["updated_at"]) for row in rows]
