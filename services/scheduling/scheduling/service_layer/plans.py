"""Use cases of plans: preview, publish, re-plan, move a cooperative, lock a session, and read
plans and sessions.

- A preview runs the planner (``domain.planner.plan``) in a ``CpuPool`` worker process, never on
  the eventlet hub, and is stored with a fingerprint of everything it was made from.
- Publishing takes exactly that preview, and only if the fingerprint of the inputs is still the
  same (``plan_preview_outdated`` otherwise). It writes the sessions, seats every participant,
  books each resource person's days (a primary key on (person, day) refuses a second booking
  anywhere in the province, even from a concurrent publication) and emits ``programme.published``,
  ``session.scheduled`` per session and ``participants.assigned`` (every seat, in chunks), via the outbox.
- After publication, changes re-plan automatically: the event consumers (and venue, resource person
  and programme changes) count a re-plan request in the same transaction as the change; the first
  uncounted one emits ``programme.replan_requested``, which this service consumes. The re-plan
  starts from the published plan (``Previous``: locked and closed sessions and manual moves kept),
  and emits ``session.rescheduled`` and ``participants.assigned`` only for what moved, and
  ``participants.unassigned`` for those it left without a session. Requests
  that arrive while a re-plan runs are counted, and one more re-plan follows; a burst of changes
  costs one or two re-plans, not one each. ``programme.plan.replan_pending`` shows one is due.
- A session's days never come from the clock: it is fixed once locked (by an operator) or closed.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from bimtek_shared.contracts.caller import Caller, require_role
from bimtek_shared.contracts.envelope import EventEnvelope, new_event
from bimtek_shared.contracts.errors import DomainError
from bimtek_shared.contracts.events import (
    MAX_SEATS_PER_EVENT, ParticipantsAssignedV1, ParticipantsUnassignedV1, ProgrammePublishedV1,
    ProgrammeReplanRequestedV1, SessionRescheduledV1, SessionScheduledV1,
)
from bimtek_shared.contracts.ids import parse_id
from bimtek_shared.contracts.pagination import SortOrder, decode_cursor, page_of
from bimtek_shared.persistence.unit_of_work import apply_once

from ..adapters import calendar
from ..domain import planner
from ..domain.cooperatives import KnownCooperative
from ..domain.planning import Plan, PlannedSession, PlanningProblem, Previous, Team
from ..domain.plans import PlanChanges, PublishedSession, assign_participants, compare, fingerprint, seats_of, together
from ..domain.programmes import TrainingProgramme
from .access import PLANNERS, READERS, listed_regency
from .commands import ListSessions, PlanTogether, PublishTogether
from .unit_of_work import SchedulingUnitOfWork

CpuRun = Callable[..., Any]  # CpuRunner.run: fn(*args) computed in a worker process
SESSION_SORTS: dict[str, type] = {"first_day": date}


def _now() -> datetime:
    return datetime.now(timezone.utc)


# -- what a plan is made from ---------------------------------------------------------------------
@dataclass(frozen=True)
class Inputs:
    programme: TrainingProgramme
    problem: PlanningProblem
    members: dict[uuid.UUID, list[uuid.UUID]]  # cooperative -> participants to seat, in registration order
    cooperatives: dict[uuid.UUID, KnownCooperative]
    published: list[PublishedSession]
    published_seats: dict[uuid.UUID, uuid.UUID]  # participant -> session in the published plan
    previous_seats: dict[uuid.UUID, uuid.UUID]  # participant (or their replacement) -> published session

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.problem, self.members)


def _inputs(uow: SchedulingUnitOfWork, programme: TrainingProgramme) -> Inputs:
    return _inputs_of(uow, [programme])[0]


def _inputs_of(uow: SchedulingUnitOfWork, programmes: Sequence[TrainingProgramme]) -> list[Inputs]:
    """What each programme's plan is made from, read once for all of them (a province's worth in a
    few queries). Resource persons booked by these programmes count as free: they are planned
    together; days booked by any other programme are taken."""
    regencies = sorted({programme.regency for programme in programmes})
    cooperatives_of = uow.cooperatives.of_regencies(regencies)
    members_of = uow.participants.members_by_cooperative(regencies)
    venues_of: dict[str, list] = {regency: [] for regency in regencies}
    for venue in uow.venues.of_regencies(regencies):
        venues_of[venue.regency].append(venue.for_planning())
    resource_persons = tuple(person.for_planning() for person in uow.resource_persons.everyone())
    booked = uow.plans.booked_elsewhere([programme.id for programme in programmes])
    found = []
    for programme in programmes:
        regency = programme.regency
        cooperatives = {c.cooperative_id: c for c in cooperatives_of[regency]}
        members = {cooperative: people for cooperative, people in members_of[regency].items()
                   if cooperative in cooperatives}
        teams = tuple(
            Team(cooperative_id=cooperative.cooperative_id, regency=regency, district=cooperative.districts[0],
                 participants=len(members[cooperative.cooperative_id]), name=cooperative.name)
            for cooperative in cooperatives.values() if members.get(cooperative.cooperative_id)
        )
        # Only a published programme has sessions, seats and pins to read.
        published = uow.plans.sessions(programme.id) if programme.published else []
        previous = None
        if published:
            previous = Previous(sessions=tuple(s.planned for s in published),
                                locked_sessions=frozenset(s.planned.id for s in published if s.fixed),
                                pinned=uow.plans.pins(programme.id))
        problem = PlanningProblem(
            programmes=(programme.for_planning(),),
            teams=teams,
            venues=tuple(venues_of[regency]),
            resource_persons=resource_persons,
            non_working_days=calendar.non_working_days(programme.window_start, programme.window_end),
            booked=booked,
            neighbours=programme.neighbour_pairs(),
            previous=previous,
        )
        seats = uow.plans.seats(programme.id) if programme.published else {}
        replaced = uow.plans.seats_of_replaced(programme.id) if programme.published else {}
        found.append(Inputs(programme=programme, problem=problem, members=members, cooperatives=cooperatives,
                            published=published, published_seats=seats, previous_seats={**replaced, **seats}))
    return found


def _not_plannable(uow: SchedulingUnitOfWork, regency: str) -> dict[str, int]:
    return uow.participants.not_plannable([regency])[regency]


# -- stored plans ---------------------------------------------------------------------------------
def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def session_to_json(session: PlannedSession) -> dict[str, Any]:
    return {"id": str(session.id), "programme_id": str(session.programme_id), "regency": session.regency,
            "number": session.number, "days": [d.isoformat() for d in session.days],
            "venue_id": str(session.venue_id), "resource_person_ids": [str(p) for p in session.resource_person_ids],
            "cooperative_ids": [str(c) for c in session.cooperative_ids], "participants": session.participants,
            "why": list(session.why), "reasons": [[code, _jsonable(params)] for code, params in session.reasons],
            "seats": [[str(c), n] for c, n in seats_of(session)]}


def session_from_json(data: dict[str, Any]) -> PlannedSession:
    return PlannedSession(
        id=uuid.UUID(data["id"]), programme_id=uuid.UUID(data["programme_id"]), regency=data["regency"],
        number=data["number"], days=tuple(date.fromisoformat(d) for d in data["days"]),
        venue_id=uuid.UUID(data["venue_id"]), resource_person_ids=tuple(uuid.UUID(p) for p in data["resource_person_ids"]),
        cooperative_ids=tuple(uuid.UUID(c) for c in data["cooperative_ids"]), participants=data["participants"],
        why=tuple(data["why"]), reasons=tuple((code, params) for code, params in data["reasons"]),
        seats=tuple((uuid.UUID(c), n) for c, n in data["seats"]),
    )


def _content(plan: Plan, inputs: Inputs, not_plannable: dict[str, int]) -> dict[str, Any]:
    """The programme's part of ``plan`` (which may hold other regencies' programmes too), and the
    regency's waiting participants no plan could seat (``not_plannable``)."""
    figures = plan.figures.get(inputs.programme.regency)
    own = [s for s in plan.sessions if s.programme_id == inputs.programme.id]
    return {
        "sessions": [session_to_json(s) for s in own],
        "figures": None if figures is None else {
            "sessions": figures.sessions, "sessions_lower_bound": figures.sessions_lower_bound,
            "districts_split": figures.districts_split,
            "shared_sessions_with_non_neighbours": figures.shared_sessions_with_non_neighbours,
            "finish": figures.finish.isoformat() if figures.finish else None},
        "participants": sum(s.participants for s in own),
        "unplaced": [{"cooperative_id": str(u.cooperative_id), "reason": u.reason, "params": _jsonable(u.params)}
                     for u in plan.unplaced if u.cooperative_id in inputs.cooperatives],
        "moved_cooperatives": [str(c) for c in plan.moved if c in inputs.cooperatives],
        "not_plannable": dict(not_plannable),
    }


def _run_planner(cpu_run: CpuRun, inputs: Inputs) -> tuple[Plan, list[PlannedSession]]:
    plan = cpu_run(planner.plan, inputs.problem)
    # Through JSON, as a stored preview is: what is published never depends on which path it took.
    own = [session_from_json(session_to_json(s)) for s in plan.sessions if s.programme_id == inputs.programme.id]
    return plan, own


# -- preview and publish ----------------------------------------------------------------------------
def preview_plan(uow: SchedulingUnitOfWork, caller: Caller | None, cpu_run: CpuRun,
                 programme_id: str) -> dict[str, Any]:
    """Plan the programme now (a re-plan of the published plan if there is one) and keep it as a
    preview: its sessions, figures, why each session holds whom, and who could not be placed."""
    caller = require_role(caller, PLANNERS)
    pid = parse_id(programme_id, "programme_not_found")
    with uow:
        programme = _programme(uow, caller, pid)
        inputs = _inputs(uow, programme)
        plan, _ = _run_planner(cpu_run, inputs)
        preview_id = uuid.uuid4()
        uow.plans.add(plan_id=preview_id, programme_id=programme.id, kind="preview", fingerprint=inputs.fingerprint,
                      content=_content(plan, inputs, _not_plannable(uow, programme.regency)), created_by=caller.user,
                      created_at=_now())
        uow.commit()
        return _stored_plan_view(uow, programme, uow.plans.get(preview_id, programme.id))


def get_plan_preview(uow: SchedulingUnitOfWork, caller: Caller | None, programme_id: str,
                     preview_id: str) -> dict[str, Any]:
    caller = require_role(caller, READERS)
    pid = parse_id(programme_id, "programme_not_found")
    plan_id = parse_id(preview_id, "plan_preview_not_found")
    with uow:
        programme = _programme(uow, caller, pid)
        row = uow.plans.get(plan_id, programme.id)
        if row is None:
            raise DomainError("plan_preview_not_found")
        return _stored_plan_view(uow, programme, row)


def publish_plan(uow: SchedulingUnitOfWork, caller: Caller | None, programme_id: str,
                 preview_id: str) -> dict[str, Any]:
    """Publish exactly this preview, if nothing it was made from changed since. Publishing the
    preview that is already published answers the plan again."""
    caller = require_role(caller, PLANNERS)
    pid = parse_id(programme_id, "programme_not_found")
    plan_id = parse_id(preview_id, "plan_preview_not_found")
    with uow:
        programme = _programme(uow, caller, pid, lock=True)
        row = uow.plans.get(plan_id, programme.id)
        if row is None or row["kind"] != "preview":
            raise DomainError("plan_preview_not_found")
        if row["status"] == "superseded":
            raise DomainError("plan_preview_outdated")
        if row["status"] == "preview":
            seen, _ = uow.plans.replan_state(programme.id)
            inputs = _inputs(uow, programme)
            if inputs.fingerprint != row["fingerprint"]:
                raise DomainError("plan_preview_outdated")
            sessions = [session_from_json(s) for s in row["content"]["sessions"]]
            at = _now()
            _publish(uow, inputs, sessions, _changes(inputs, sessions), plan_id, at)
            _settle_replan_requests(uow, programme, seen, at)
            uow.commit()
        return _published_plan_view(uow, programme)


# -- several programmes together ----------------------------------------------------------------------
def preview_plans(uow: SchedulingUnitOfWork, caller: Caller | None, cpu_run: CpuRun,
                  command: PlanTogether) -> dict[str, Any]:
    """Plan several programmes (one per regency, a whole province) in one run and keep a preview of
    each. The province's resource persons are shared, so deciding their days for every regency at
    once plans better than one regency after another, and reads the province's data once. Each
    preview is then an ordinary one: read it, publish it alone, or publish them together."""
    caller = require_role(caller, PLANNERS)
    ids = command.programme_ids
    if len(set(ids)) != len(ids):
        raise DomainError("plan_programmes_repeated")
    with uow:
        programmes = [_programme(uow, caller, pid) for pid in ids]
        if len({p.regency for p in programmes}) != len(programmes):
            raise DomainError("plan_programmes_repeated")
        inputs = _inputs_of(uow, programmes)
        plan = cpu_run(planner.plan, together([i.problem for i in inputs]))
        not_plannable = uow.participants.not_plannable([p.regency for p in programmes])
        at = _now()
        previews = []
        for programme_inputs in inputs:
            preview_id = uuid.uuid4()
            content = _content(plan, programme_inputs, not_plannable[programme_inputs.programme.regency])
            uow.plans.add(plan_id=preview_id, programme_id=programme_inputs.programme.id, kind="preview",
                          fingerprint=programme_inputs.fingerprint, content=content, created_by=caller.user,
                          created_at=at)
            previews.append(_plan_summary(programme_inputs.programme, {
                "id": preview_id, "status": "preview", "revision": None, "created_at": at, "published_at": None,
                "content": content}))
        uow.commit()
        return {"previews": previews}


def publish_plans(uow: SchedulingUnitOfWork, caller: Caller | None, command: PublishTogether) -> dict[str, Any]:
    """Publish several previews (one per programme) in one transaction: all of them, or none if
    anything one was made from changed (``plan_preview_outdated``). Previews already published are
    answered again, so a retried request publishes nothing twice."""
    caller = require_role(caller, PLANNERS)
    ids = command.preview_ids
    if len(set(ids)) != len(ids):
        raise DomainError("plan_programmes_repeated")
    with uow:
        rows = uow.plans.previews(ids)
        if len(rows) != len(ids) or any(row["kind"] != "preview" for row in rows.values()):
            raise DomainError("plan_preview_not_found")
        if len({row["programme_id"] for row in rows.values()}) != len(rows):
            raise DomainError("plan_programmes_repeated")
        # Locked in one order, so that two publications of overlapping sets cannot deadlock.
        programmes = {pid: _programme(uow, caller, pid, lock=True)
                      for pid in sorted(row["programme_id"] for row in rows.values())}
        rows = uow.plans.previews(ids)  # as they are now that their programmes are ours
        if any(row["status"] == "superseded" for row in rows.values()):
            raise DomainError("plan_preview_outdated")
        waiting = [row for row in rows.values() if row["status"] == "preview"]
        inputs = _inputs_of(uow, [programmes[row["programme_id"]] for row in waiting])
        if any(i.fingerprint != row["fingerprint"] for i, row in zip(inputs, waiting)):
            raise DomainError("plan_preview_outdated")
        at = _now()
        for programme_inputs, row in zip(inputs, waiting):
            seen, _ = uow.plans.replan_state(programme_inputs.programme.id)
            sessions = [session_from_json(s) for s in row["content"]["sessions"]]
            revision = _publish(uow, programme_inputs, sessions, _changes(programme_inputs, sessions), row["id"], at)
            _settle_replan_requests(uow, programme_inputs.programme, seen, at)
            rows[row["id"]] = {**row, "status": "published", "revision": revision, "published_at": at}
        uow.commit()
        return {"plans": [_plan_summary(programmes[rows[pid]["programme_id"]], rows[pid]) for pid in ids]}


def _plan_summary(programme: TrainingProgramme, row: dict[str, Any]) -> dict[str, Any]:
    """A stored plan's figures without its sessions: what a plan of many programmes answers per
    programme (the sessions are one read away, ``get_plan_preview`` or ``get_plan``)."""
    content = row["content"]
    return {"id": str(row["id"]), "programme_id": str(programme.id), "regency": programme.regency,
            "status": row["status"], "revision": row["revision"], "created_at": row["created_at"].isoformat(),
            "published_at": row["published_at"].isoformat() if row["published_at"] else None,
            "figures": content["figures"], "participants": content["participants"],
            "session_count": len(content["sessions"]), "unplaced_count": len(content["unplaced"]),
            "not_plannable": content["not_plannable"]}


def _changes(inputs: Inputs, sessions: Sequence[PlannedSession]) -> PlanChanges:
    seats = assign_participants(sessions, inputs.members, inputs.previous_seats)
    return compare([s.planned for s in inputs.published], sessions, inputs.published_seats, seats)


def _publish(uow: SchedulingUnitOfWork, inputs: Inputs, sessions: Sequence[PlannedSession], changes: PlanChanges,
             plan_id: uuid.UUID, at: datetime) -> int:
    """Make ``sessions`` the published plan and announce what changed; returns the revision."""
    programme = inputs.programme
    current = uow.plans.published(programme.id)
    revision = (current["revision"] if current else 0) + 1
    versions = {s.planned.id: s.version + 1 for s in inputs.published}
    cooperative_of = {participant: cooperative for cooperative, people in inputs.members.items()
                      for participant in people}
    uow.plans.apply(programme.id, changes, sessions, versions, cooperative_of, revision, at)
    uow.plans.mark_published(plan_id, programme.id, revision, at)
    _announce(uow, programme, plan_id, sessions, changes, versions, cooperative_of, revision, at)
    return revision


def _announce(uow: SchedulingUnitOfWork, programme: TrainingProgramme, plan_id: uuid.UUID,
              sessions: Sequence[PlannedSession], changes: PlanChanges, versions: dict[uuid.UUID, int],
              cooperative_of: dict[uuid.UUID, uuid.UUID], revision: int, at: datetime) -> None:
    """Every event of a publication, in one multi-row outbox insert (a regency's first publication
    announces some 2,500 seats)."""
    regency = programme.regency
    announced = (*changes.scheduled, *(change.session for change in changes.rescheduled), *changes.cancelled)
    venue_names = uow.venues.names({session.venue_id for session in announced})

    def event(event_type: str, payload: Any, aggregate: uuid.UUID) -> tuple[EventEnvelope, uuid.UUID]:
        return new_event(event_type, payload, regency=regency, correlation_id=uow.correlation_id), aggregate

    def state(session: PlannedSession, version: int) -> dict[str, Any]:
        return {"session_id": session.id, "programme_id": programme.id, "number": session.number,
                "days": list(session.days), "venue_id": session.venue_id,
                "venue_name": venue_names.get(session.venue_id),
                "resource_person_ids": list(session.resource_person_ids),
                "cooperative_ids": list(session.cooperative_ids), "participants": session.participants,
                "version": version}

    events = [event("programme.published", ProgrammePublishedV1(
        programme_id=programme.id, plan_id=plan_id, revision=revision, days_per_session=programme.days_per_session,
        min_attendance_days=programme.min_attendance_days, window_start=programme.window_start,
        window_end=programme.window_end, sessions=len(sessions), participants=len(changes.seats),
        published_at=at), programme.id)]
    events += [event("session.scheduled", SessionScheduledV1(**state(s, 1), scheduled_at=at), s.id)
               for s in changes.scheduled]
    events += [event("session.rescheduled", SessionRescheduledV1(
        **state(c.session, versions[c.session.id]), changed=list(c.changed), rescheduled_at=at), c.session.id)
        for c in changes.rescheduled]
    events += [event("session.rescheduled", SessionRescheduledV1(
        **{**state(s, versions[s.id]), "cooperative_ids": [], "participants": 0}, changed=[], cancelled=True,
        rescheduled_at=at), s.id) for s in changes.cancelled]
    # Plain dicts: the event's model checks them all in one call, not one model per seat.
    moved = [{"participant_id": participant, "session_id": changes.seats[participant],
              "cooperative_id": cooperative_of[participant]} for participant in changes.moved]
    events += [event("participants.assigned", ParticipantsAssignedV1(
        programme_id=programme.id, revision=revision, assigned_at=at, seats=seats), programme.id)
        for seats in _per_event(moved)]
    events += [event("participants.unassigned", ParticipantsUnassignedV1(
        programme_id=programme.id, revision=revision, unassigned_at=at, participant_ids=people), programme.id)
        for people in _per_event(changes.unseated)]
    uow.add_to_outbox(events)


def _per_event(items: Sequence[Any]) -> list[Sequence[Any]]:
    """``items`` in chunks of at most MAX_SEATS_PER_EVENT, one event's worth each."""
    return [items[start:start + MAX_SEATS_PER_EVENT] for start in range(0, len(items), MAX_SEATS_PER_EVENT)]


# -- re-planning ------------------------------------------------------------------------------------------
def request_replans(uow: SchedulingUnitOfWork, programmes: Iterable[tuple[uuid.UUID, str]]) -> None:
    """Count a change for these published programmes (id, regency); announce a re-plan for those
    that had none pending. In the caller's transaction, after the change is stored."""
    regency_of = dict(programmes)
    events = [(new_event("programme.replan_requested",
                         ProgrammeReplanRequestedV1(programme_id=programme_id, requested=requested),
                         regency=regency_of[programme_id], correlation_id=uow.correlation_id), programme_id)
              for programme_id, requested in uow.plans.request_replans(sorted(regency_of), _now())]
    uow.add_to_outbox(events)


def request_replans_in(uow: SchedulingUnitOfWork, regencies: set[str]) -> None:
    """A change to the participants or cooperatives of these regencies: their published programmes re-plan."""
    request_replans(uow, uow.programmes.published_in(regencies))


def _settle_replan_requests(uow: SchedulingUnitOfWork, programme: TrainingProgramme, seen: int,
                            at: datetime) -> None:
    """Requests up to ``seen`` are answered; if more came while this ran, announce one more re-plan
    (their senders did not, seeing one pending)."""
    now = uow.plans.mark_replanned(programme.id, seen, at)
    if now > seen:
        uow.add_to_outbox([(new_event("programme.replan_requested",
                                      ProgrammeReplanRequestedV1(programme_id=programme.id, requested=now),
                                      regency=programme.regency, correlation_id=uow.correlation_id), programme.id)])


def _replan_locked(uow: SchedulingUnitOfWork, cpu_run: CpuRun, programme: TrainingProgramme,
                   created_by: str | None) -> PlanChanges:
    """Re-plan a published programme whose row this transaction holds; publish what changed."""
    seen, _ = uow.plans.replan_state(programme.id)
    inputs = _inputs(uow, programme)
    plan, sessions = _run_planner(cpu_run, inputs)
    changes = _changes(inputs, sessions)
    content = _content(plan, inputs, _not_plannable(uow, programme.regency))
    published = uow.plans.published(programme.id)
    at = _now()
    if not changes.nothing or published["content"]["unplaced"] != content["unplaced"]:
        plan_id = uuid.uuid4()
        uow.plans.add(plan_id=plan_id, programme_id=programme.id, kind="replan", fingerprint=inputs.fingerprint,
                      content=content, created_by=created_by, created_at=at)
        _publish(uow, inputs, sessions, changes, plan_id, at)
    _settle_replan_requests(uow, programme, seen, at)
    return changes


def replan(uow: SchedulingUnitOfWork, caller: Caller | None, cpu_run: CpuRun, programme_id: str) -> dict[str, Any]:
    """Re-plan a published programme now (changes re-plan it on their own; this is for the operator
    who does not want to wait). Only what the changes touch moves."""
    caller = require_role(caller, PLANNERS)
    pid = parse_id(programme_id, "programme_not_found")
    with uow:
        programme = _programme(uow, caller, pid, lock=True)
        if not programme.published:
            raise DomainError("plan_not_published")
        changes = _replan_locked(uow, cpu_run, programme, caller.user)
        uow.commit()
        return {**_published_plan_view(uow, programme), "changes": _changes_view(changes)}


def run_requested_replans(uow: SchedulingUnitOfWork, cpu_run: CpuRun, events: list[EventEnvelope],
                          consumer: str) -> int:
    """The consumer of ``programme.replan_requested``: re-plan unless a re-plan since has seen every
    request (then the event is spent)."""

    def replan_pending(uow: SchedulingUnitOfWork, fresh: list[EventEnvelope]) -> None:
        for event in fresh:
            payload = ProgrammeReplanRequestedV1.model_validate(event.payload)
            programme = uow.programmes.get(payload.programme_id, None, lock=True)
            if programme is None or not programme.published:
                continue
            requested, handled = uow.plans.replan_state(programme.id)
            if requested > handled:
                _replan_locked(uow, cpu_run, programme, created_by=None)

    return apply_once(uow, events, consumer, replan_pending)


def _changes_view(changes: PlanChanges) -> dict[str, Any]:
    return {"sessions_scheduled": [str(s.id) for s in changes.scheduled],
            "sessions_rescheduled": [{"id": str(c.session.id), "changed": list(c.changed)} for c in changes.rescheduled],
            "sessions_cancelled": [str(s.id) for s in changes.cancelled],
            "participants_moved": len(changes.moved), "participants_unseated": len(changes.unseated)}


# -- manual overrides ---------------------------------------------------------------------------------------
def move_cooperative(uow: SchedulingUnitOfWork, caller: Caller | None, cpu_run: CpuRun, cooperative_id: str,
                     session_id: str) -> dict[str, Any]:
    """Pin a cooperative's whole team to a session of its programme's published plan, and re-plan:
    the pin holds in every re-plan after. Refused if the team does not fit there whole."""
    caller = require_role(caller, PLANNERS)
    cid = parse_id(cooperative_id, "cooperative_not_found")
    sid = parse_id(session_id, "session_not_found")
    with uow:
        target = uow.plans.session(sid, caller.regency_scope)
        if target is None:
            raise DomainError("session_not_found")
        programme = _programme(uow, caller, target.planned.programme_id, lock=True)
        target = uow.plans.session(sid, caller.regency_scope)  # as it is now that the programme is ours
        if target is None:
            raise DomainError("session_not_found")
        if uow.cooperatives.regency_of(cid) != programme.regency:
            raise DomainError("cooperative_not_found")
        people = uow.participants.members_by_cooperative([programme.regency])[programme.regency].get(cid)
        if not people:
            raise DomainError("cooperative_not_planned")
        holding = [s for s in uow.plans.sessions(programme.id) if cid in s.planned.cooperative_ids]
        if target.fixed or any(s.fixed for s in holding if s.planned.id != sid):
            raise DomainError("session_locked")
        uow.plans.pin(programme.id, cid, sid, caller.user, _now())
        _replan_locked(uow, cpu_run, programme, caller.user)
        seats = uow.plans.seats(programme.id)
        if any(seats.get(participant) != sid for participant in people):
            raise DomainError("cooperative_move_impossible", {"reason": "session_full"})
        uow.commit()
        return _session_detail(uow, uow.plans.session(sid, None))


def set_session_lock(uow: SchedulingUnitOfWork, caller: Caller | None, session_id: str,
                     locked: bool) -> dict[str, Any]:
    """A locked session keeps its days, venue, resource persons and people through every re-plan."""
    caller = require_role(caller, PLANNERS)
    sid = parse_id(session_id, "session_not_found")
    with uow:
        session = uow.plans.session(sid, caller.regency_scope)
        if session is None:
            raise DomainError("session_not_found")
        _programme(uow, caller, session.planned.programme_id, lock=True)  # not while a re-plan runs
        if session.locked != locked:
            uow.plans.set_locked(sid, locked, _now())
            uow.commit()
        return _session_detail(uow, uow.plans.session(sid, None))


# -- reading ----------------------------------------------------------------------------------------------
def get_plan(uow: SchedulingUnitOfWork, caller: Caller | None, programme_id: str) -> dict[str, Any]:
    caller = require_role(caller, READERS)
    pid = parse_id(programme_id, "programme_not_found")
    with uow:
        return _published_plan_view(uow, _programme(uow, caller, pid))


def list_sessions(uow: SchedulingUnitOfWork, caller: Caller | None, query: ListSessions) -> dict[str, Any]:
    caller = require_role(caller, READERS)
    regency = listed_regency(caller, query.regency)
    order = SortOrder.parse(query.sort or "first_day", list(SESSION_SORTS))
    after = decode_cursor(query.cursor, order, (date, uuid.UUID)) if query.cursor else None
    with uow:
        rows = uow.plans.list_page(regency=regency, programme_id=query.programme_id, order=order, after=after,
                                   limit=query.limit + 1)
        items, next_cursor = page_of(rows, query.limit, order, lambda s: (s.planned.days[0], s.planned.id))
        names = _Names.of(uow, [s.planned for s in items])
        return {"items": [_published_session_view(s, names) for s in items], "next_cursor": next_cursor,
                "limit": query.limit}


def get_session(uow: SchedulingUnitOfWork, caller: Caller | None, session_id: str) -> dict[str, Any]:
    caller = require_role(caller, READERS)
    sid = parse_id(session_id, "session_not_found")
    with uow:
        session = uow.plans.session(sid, caller.regency_scope)
        if session is None:
            raise DomainError("session_not_found")
        return _session_detail(uow, session)


def _programme(uow: SchedulingUnitOfWork, caller: Caller, programme_id: uuid.UUID, *,
               lock: bool = False) -> TrainingProgramme:
    programme = uow.programmes.get(programme_id, caller.regency_scope, lock=lock)
    if programme is None:
        raise DomainError("programme_not_found")
    return programme


# -- views ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Names:
    """Names of what sessions refer to by id, looked up once per answer."""

    venues: dict[uuid.UUID, str]
    persons: dict[uuid.UUID, str]
    cooperatives: dict[uuid.UUID, tuple[str, str | None]]  # name, first kecamatan

    @classmethod
    def of(cls, uow: SchedulingUnitOfWork, sessions: Iterable[PlannedSession],
           extra_cooperatives: Iterable[uuid.UUID] = ()) -> "_Names":
        sessions = list(sessions)
        return cls(
            venues=uow.venues.names({s.venue_id for s in sessions}),
            persons=uow.resource_persons.names({p for s in sessions for p in s.resource_person_ids}),
            cooperatives=uow.cooperatives.names({c for s in sessions for c in s.cooperative_ids}
                                               | set(extra_cooperatives)),
        )

    def cooperative(self, cooperative_id: uuid.UUID) -> dict[str, Any]:
        name, district = self.cooperatives.get(cooperative_id, (None, None))
        return {"id": str(cooperative_id), "name": name, "district": district}


def _session_view(session: PlannedSession, names: _Names) -> dict[str, Any]:
    return {
        "id": str(session.id), "programme_id": str(session.programme_id), "regency": session.regency,
        "number": session.number, "days": [d.isoformat() for d in session.days],
        "venue": {"id": str(session.venue_id), "name": names.venues.get(session.venue_id, "")},
        "resource_persons": [{"id": str(p), "name": names.persons.get(p, "")} for p in session.resource_person_ids],
        "cooperatives": sorted((names.cooperative(c) for c in session.cooperative_ids),
                               key=lambda c: (c["district"] or "", c["name"] or "", c["id"])),
        "participants": session.participants,
        # Lines in Bahasa Indonesia; the same as codes with their parameters for other languages.
        "why": list(session.why),
        "reasons": [{"code": code, "params": _jsonable(params)} for code, params in session.reasons],
    }


def _published_session_view(session: PublishedSession, names: _Names) -> dict[str, Any]:
    return {**_session_view(session.planned, names), "status": "closed" if session.closed else "scheduled",
            "locked": session.locked, "version": session.version}


def _session_detail(uow: SchedulingUnitOfWork, session: PublishedSession) -> dict[str, Any]:
    """A session with its teams: each cooperative and how many of its people sit in this session."""
    names = _Names.of(uow, [session.planned])
    teams = uow.plans.team_counts(session.planned.id)
    return {**_published_session_view(session, names),
            "teams": [{"cooperative_id": str(t["cooperative_id"]), "name": t["name"],
                       "districts": list(t["districts"] or []), "participants": t["participants"]} for t in teams],
            "seated": sum(t["participants"] for t in teams)}


def _plan_fields(programme: TrainingProgramme, row: dict[str, Any], names: _Names) -> dict[str, Any]:
    content = row["content"]
    return {
        "id": str(row["id"]), "programme_id": str(programme.id), "regency": programme.regency,
        "kind": row["kind"], "status": row["status"], "revision": row["revision"],
        "created_at": row["created_at"].isoformat(),
        "published_at": row["published_at"].isoformat() if row["published_at"] else None,
        "figures": content["figures"], "participants": content["participants"],
        "unplaced": [{**u, "cooperative": names.cooperative(uuid.UUID(u["cooperative_id"]))}
                     for u in content["unplaced"]],
        "moved_cooperatives": content["moved_cooperatives"], "not_plannable": content["not_plannable"],
    }


def _stored_plan_view(uow: SchedulingUnitOfWork, programme: TrainingProgramme, row: dict[str, Any]) -> dict[str, Any]:
    sessions = [session_from_json(s) for s in row["content"]["sessions"]]
    names = _Names.of(uow, sessions, (uuid.UUID(u["cooperative_id"]) for u in row["content"]["unplaced"]))
    return {**_plan_fields(programme, row, names), "sessions": [_session_view(s, names) for s in sessions]}


def _published_plan_view(uow: SchedulingUnitOfWork, programme: TrainingProgramme) -> dict[str, Any]:
    """The published plan: its figures as published, its sessions as they stand now."""
    row = uow.plans.published(programme.id)
    if row is None:
        raise DomainError("plan_not_found")
    sessions = uow.plans.sessions(programme.id)
    names = _Names.of(uow, [s.planned for s in sessions],
                      (uuid.UUID(u["cooperative_id"]) for u in row["content"]["unplaced"]))
    requested, handled = uow.plans.replan_state(programme.id)
    return {**_plan_fields(programme, row, names), "replan_pending": requested > handled,
            "sessions": [_published_session_view(s, names) for s in sessions]}
