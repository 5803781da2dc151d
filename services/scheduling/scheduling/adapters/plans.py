"""Plans and the published sessions in the scheduling database: previews, sessions, seats, manual
moves, resource persons' booked days and re-plan requests."""
from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bimtek_shared.contracts.errors import DomainError
from bimtek_shared.contracts.pagination import SortOrder

from ..domain.planning import PlannedSession
from ..domain.plans import PlanChanges, PublishedSession, seats_of
from .orm import (
    assignments, cooperatives, pins, plans, replan_requests, resource_person_days, session_cooperatives, sessions,
    substitutions,
)

BOOKING_KEY = "resource_person_days_pkey"


class PlanRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    # -- previews and published plans ---------------------------------------------------------
    def add(self, *, plan_id: uuid.UUID, programme_id: uuid.UUID, kind: str, fingerprint: str,
            content: dict[str, Any], created_by: str | None, created_at: datetime) -> None:
        self._session.execute(insert(plans).values(
            id=plan_id, programme_id=programme_id, kind=kind, status="preview", fingerprint=fingerprint,
            content=content, created_by=created_by, created_at=created_at))

    def get(self, plan_id: uuid.UUID, programme_id: uuid.UUID) -> dict[str, Any] | None:
        row = self._session.execute(select(plans).where(plans.c.id == plan_id, plans.c.programme_id == programme_id)
                                    ).mappings().first()
        return None if row is None else dict(row)

    def previews(self, plan_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
        """Stored plans by id, of any programme (the caller checks whose they are)."""
        rows = self._session.execute(select(plans).where(plans.c.id.in_(plan_ids))).mappings()
        return {row["id"]: dict(row) for row in rows}

    def published(self, programme_id: uuid.UUID) -> dict[str, Any] | None:
        row = self._session.execute(select(plans).where(plans.c.programme_id == programme_id,
                                                        plans.c.status == "published")).mappings().first()
        return None if row is None else dict(row)

    def mark_published(self, plan_id: uuid.UUID, programme_id: uuid.UUID, revision: int, at: datetime,
                       content: dict[str, Any] | None = None) -> None:
        """The plan becomes the programme's published one; the one published before is superseded."""
        self._session.execute(update(plans).where(plans.c.programme_id == programme_id, plans.c.status == "published")
                              .values(status="superseded"))
        values: dict[str, Any] = {"status": "published", "revision": revision, "published_at": at}
        if content is not None:
            values["content"] = content
        self._session.execute(update(plans).where(plans.c.id == plan_id).values(**values))

    # -- published sessions -------------------------------------------------------------------
    def sessions(self, programme_id: uuid.UUID) -> list[PublishedSession]:
        rows = list(self._session.execute(select(sessions).where(sessions.c.programme_id == programme_id)
                                          .order_by(sessions.c.first_day, sessions.c.number, sessions.c.id))
                    .mappings())
        teams = self._cooperatives_of([row["id"] for row in rows])
        return [self._published_session(row, teams[row["id"]]) for row in rows]

    @staticmethod
    def _published_session(row: Any, seats: list[tuple[uuid.UUID, int]]) -> PublishedSession:
        seats = sorted(seats)
        planned = PlannedSession(
            id=row["id"], programme_id=row["programme_id"], regency=row["regency"], number=row["number"],
            days=tuple(row["days"]), venue_id=row["venue_id"], resource_person_ids=tuple(row["resource_person_ids"]),
            cooperative_ids=tuple(cooperative for cooperative, _ in seats), participants=row["participants"],
            why=tuple(row["why"]), reasons=tuple((code, params) for code, params in row["reasons"]),
            seats=tuple(seats),
        )
        return PublishedSession(planned=planned, version=row["version"], locked=row["locked"],
                                closed=row["status"] == "closed")

    def _cooperatives_of(self, session_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[tuple[uuid.UUID, int]]]:
        """Each session's (cooperative, its people seated there)."""
        found: dict[uuid.UUID, list[tuple[uuid.UUID, int]]] = {session_id: [] for session_id in session_ids}
        if session_ids:
            for session_id, cooperative_id, participants in self._session.execute(
                    select(session_cooperatives.c.session_id, session_cooperatives.c.cooperative_id,
                           session_cooperatives.c.participants)
                    .where(session_cooperatives.c.session_id.in_(session_ids))):
                found[session_id].append((cooperative_id, participants))
        return found

    def session(self, session_id: uuid.UUID, regency: str | None, *, lock: bool = False) -> PublishedSession | None:
        query = select(sessions).where(sessions.c.id == session_id)
        if regency is not None:
            query = query.where(sessions.c.regency == regency)
        if lock:
            query = query.with_for_update()
        row = self._session.execute(query).mappings().first()
        if row is None:
            return None
        return self._published_session(row, self._cooperatives_of([row["id"]])[row["id"]])

    def set_locked(self, session_id: uuid.UUID, locked: bool, at: datetime) -> None:
        self._session.execute(update(sessions).where(sessions.c.id == session_id)
                              .values(locked=locked, updated_at=at))

    def apply(self, programme_id: uuid.UUID, changes: PlanChanges, new_sessions: Iterable[PlannedSession],
              versions: Mapping[uuid.UUID, int], cooperative_of: Mapping[uuid.UUID, uuid.UUID],
              revision: int, at: datetime) -> None:
        """Make the published state the new plan: sessions added, changed or gone, seats moved, and
        every resource person's days booked again (``resource_person_double_booked`` if another
        plan holds one of them, even one committed a moment ago)."""
        new_sessions = list(new_sessions)
        # Unbooked first, so that sessions of this programme may swap a person's days among themselves.
        self._session.execute(delete(resource_person_days).where(resource_person_days.c.programme_id == programme_id))
        for session in changes.scheduled:
            self._session.execute(insert(sessions).values(
                id=session.id, programme_id=programme_id, version=1, updated_at=at, **self._fields(session)))
        for change in changes.rescheduled:
            self._session.execute(update(sessions).where(sessions.c.id == change.session.id).values(
                version=versions[change.session.id], updated_at=at, **self._fields(change.session)))
        changed_teams = {s.id for s in changes.scheduled} | {c.session.id for c in changes.rescheduled
                                                              if {"cooperatives", "participants"} & set(c.changed)}
        if changed_teams:
            self._session.execute(delete(session_cooperatives)
                                  .where(session_cooperatives.c.session_id.in_(sorted(changed_teams))))
            teams = [(s.id, c, n) for s in new_sessions if s.id in changed_teams for c, n in seats_of(s)]
            if teams:  # as arrays, like the seats below: a province's 8,500 teams in one statement
                self._session.execute(_ADD_SESSION_TEAMS, {"sessions": [str(s) for s, _, _ in teams],
                                                           "cooperatives": [str(c) for _, c, _ in teams],
                                                           "participants": [n for _, _, n in teams]})
        if changes.moved:
            # Three arrays, not a row of parameters per seat: a regency's 2,500 seats bound one by
            # one cost half of a publication.
            self._session.execute(_KEEP_ASSIGNMENTS, {
                "programme_id": programme_id, "revision": revision, "assigned_at": at,
                "participants": [str(participant) for participant in changes.moved],
                "sessions": [str(changes.seats[participant]) for participant in changes.moved],
                "cooperatives": [str(cooperative_of[participant]) for participant in changes.moved]})
        if changes.unseated:
            self._session.execute(delete(assignments).where(assignments.c.programme_id == programme_id,
                                                            assignments.c.participant_id.in_(changes.unseated)))
        if changes.cancelled:
            self._session.execute(delete(sessions).where(sessions.c.id.in_([s.id for s in changes.cancelled])))
        bookings = [{"person_id": person, "day": day, "session_id": session.id, "programme_id": programme_id}
                    for session in new_sessions for person in session.resource_person_ids for day in session.days]
        if bookings:
            try:
                with self._session.begin_nested():
                    self._session.execute(insert(resource_person_days), bookings)
            except IntegrityError as exc:
                if BOOKING_KEY in str(exc.orig):
                    raise DomainError("resource_person_double_booked") from None
                raise

    @staticmethod
    def _fields(session: PlannedSession) -> dict[str, Any]:
        return {"regency": session.regency, "number": session.number, "days": list(session.days),
                "first_day": session.days[0], "venue_id": session.venue_id,
                "resource_person_ids": list(session.resource_person_ids), "participants": session.participants,
                "why": list(session.why), "reasons": [[code, params] for code, params in session.reasons]}

    # -- seats and manual moves ---------------------------------------------------------------
    def seats(self, programme_id: uuid.UUID) -> dict[uuid.UUID, uuid.UUID]:
        """participant -> session in the published plan."""
        return dict(self._session.execute(select(assignments.c.participant_id, assignments.c.session_id)
                                          .where(assignments.c.programme_id == programme_id)).all())

    def seats_of_replaced(self, programme_id: uuid.UUID) -> dict[uuid.UUID, uuid.UUID]:
        """replacement -> the session of the participant they replaced, where that one had a seat."""
        return dict(self._session.execute(
            select(substitutions.c.replacement_participant_id, assignments.c.session_id)
            .join(assignments, and_(assignments.c.participant_id == substitutions.c.replaced_participant_id,
                                    assignments.c.programme_id == programme_id))).all())

    def pins(self, programme_id: uuid.UUID) -> tuple[tuple[uuid.UUID, uuid.UUID], ...]:
        rows = self._session.execute(select(pins.c.cooperative_id, pins.c.session_id)
                                     .where(pins.c.programme_id == programme_id).order_by(pins.c.cooperative_id))
        return tuple((cooperative, session) for cooperative, session in rows)

    def pin(self, programme_id: uuid.UUID, cooperative_id: uuid.UUID, session_id: uuid.UUID, by: str,
            at: datetime) -> None:
        statement = pg_insert(pins).values(programme_id=programme_id, cooperative_id=cooperative_id,
                                           session_id=session_id, pinned_by=by, pinned_at=at)
        self._session.execute(statement.on_conflict_do_update(
            index_elements=[pins.c.programme_id, pins.c.cooperative_id],
            set_={"session_id": statement.excluded.session_id, "pinned_by": by, "pinned_at": at}))

    def booked_elsewhere(self, programme_ids: list[uuid.UUID]) -> tuple[tuple[uuid.UUID, date], ...]:
        """Days resource persons are booked by every programme of the province but these."""
        rows = self._session.execute(select(resource_person_days.c.person_id, resource_person_days.c.day)
                                     .where(resource_person_days.c.programme_id.not_in(programme_ids))
                                     .order_by(resource_person_days.c.person_id, resource_person_days.c.day))
        return tuple((person, day) for person, day in rows)

    def programmes_using(self, *, venue_id: uuid.UUID | None = None,
                         person_id: uuid.UUID | None = None) -> list[tuple[uuid.UUID, str]]:
        """(id, regency) of the programmes with a published session at this venue or with this person."""
        query = select(sessions.c.programme_id, sessions.c.regency).distinct()
        if venue_id is not None:
            query = query.where(sessions.c.venue_id == venue_id)
        if person_id is not None:
            query = query.where(sessions.c.resource_person_ids.any(person_id))
        return [(programme_id, regency) for programme_id, regency in self._session.execute(query)]

    # -- re-plan requests ---------------------------------------------------------------------
    def request_replans(self, programme_ids: list[uuid.UUID], at: datetime) -> list[tuple[uuid.UUID, int]]:
        """Count a change for each programme; returns (programme, counter) for those that had none
        pending, whose re-plan must be announced (the others' is on its way and will see it)."""
        if not programme_ids:
            return []
        statement = pg_insert(replan_requests)
        rows = self._session.execute(
            statement.on_conflict_do_update(
                index_elements=[replan_requests.c.programme_id],
                set_={"requested": replan_requests.c.requested + 1, "requested_at": at})
            .returning(replan_requests.c.programme_id, replan_requests.c.requested, replan_requests.c.handled),
            [{"programme_id": programme_id, "requested": 1, "requested_at": at} for programme_id in sorted(programme_ids)],
        )
        return sorted((programme, requested) for programme, requested, handled in rows if requested == handled + 1)

    def replan_state(self, programme_id: uuid.UUID) -> tuple[int, int]:
        """(requested, handled): a re-plan is pending while requested > handled."""
        row = self._session.execute(select(replan_requests.c.requested, replan_requests.c.handled)
                                    .where(replan_requests.c.programme_id == programme_id)).first()
        return (0, 0) if row is None else (row.requested, row.handled)

    def mark_replanned(self, programme_id: uuid.UUID, seen: int, at: datetime) -> int:
        """Every request up to ``seen`` is handled; returns the counter now (more: changes came meanwhile)."""
        row = self._session.execute(
            update(replan_requests).where(replan_requests.c.programme_id == programme_id,
                                          replan_requests.c.handled < seen)
            .values(handled=seen, handled_at=at).returning(replan_requests.c.requested)).first()
        return seen if row is None else row.requested

    # -- reading ------------------------------------------------------------------------------
    def list_page(self, *, regency: str | None, programme_id: uuid.UUID | None, order: SortOrder,
                  after: tuple | None, limit: int) -> list[PublishedSession]:
        sorted_by = sessions.c[order.field]
        query = select(sessions)
        if regency is not None:
            query = query.where(sessions.c.regency == regency)
        if programme_id is not None:
            query = query.where(sessions.c.programme_id == programme_id)
        if after is not None:
            key = tuple_(sorted_by, sessions.c.id)
            query = query.where(key < after if order.descending else key > after)
        query = query.order_by(sorted_by.desc(), sessions.c.id.desc()) if order.descending \
            else query.order_by(sorted_by, sessions.c.id)
        rows = list(self._session.execute(query.limit(limit)).mappings())
        teams = self._cooperatives_of([row["id"] for row in rows])
        return [self._published_session(row, teams[row["id"]]) for row in rows]

    def team_counts(self, session_id: uuid.UUID) -> list[dict[str, Any]]:
        """The cooperatives of a session with their names and how many of their people sit in it."""
        seated = (select(assignments.c.cooperative_id, func.count().label("participants"))
                  .where(assignments.c.session_id == session_id).group_by(assignments.c.cooperative_id).subquery())
        rows = self._session.execute(
            select(session_cooperatives.c.cooperative_id, cooperatives.c.name, cooperatives.c.districts,
                   func.coalesce(seated.c.participants, 0).label("participants"))
            .select_from(session_cooperatives
                         .outerjoin(cooperatives, cooperatives.c.cooperative_id == session_cooperatives.c.cooperative_id)
                         .outerjoin(seated, seated.c.cooperative_id == session_cooperatives.c.cooperative_id))
            .where(session_cooperatives.c.session_id == session_id)
            .order_by(session_cooperatives.c.cooperative_id))
        return [dict(row) for row in rows.mappings()]

    def seated_count(self, session_id: uuid.UUID) -> int:
        return int(self._session.execute(select(func.count()).where(assignments.c.session_id == session_id)).scalar())


_KEEP_ASSIGNMENTS = text("""
    INSERT INTO assignments (programme_id, participant_id, session_id, cooperative_id, revision, assigned_at)
    SELECT :programme_id, seat.participant_id, seat.session_id, seat.cooperative_id, :revision, :assigned_at
    FROM unnest(CAST(:participants AS uuid[]), CAST(:sessions AS uuid[]), CAST(:cooperatives AS uuid[]))
         AS seat (participant_id, session_id, cooperative_id)
    ON CONFLICT (programme_id, participant_id) DO UPDATE
    SET session_id = excluded.session_id, cooperative_id = excluded.cooperative_id,
        revision = excluded.revision, assigned_at = excluded.assigned_at""")


_ADD_SESSION_TEAMS = text("""
    INSERT INTO session_cooperatives (session_id, cooperative_id, participants)
    SELECT * FROM unnest(CAST(:sessions AS uuid[]), CAST(:cooperatives AS uuid[]), CAST(:participants AS integer[]))""")
