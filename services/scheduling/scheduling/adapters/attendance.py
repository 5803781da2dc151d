"""Attendance in the scheduling database: check-in scans by nonce, attendance per session day,
closed sessions and their outcomes, and what invitations and attendance sheets are made from."""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import Integer, String, Uuid, column, delete, insert, select, tuple_, update, values
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from ..domain.attendance import Outcome, SessionFacts
from .orm import (
    assignments, attendance, check_in_scans, cooperatives, participants, programmes, session_closures,
    session_outcomes, sessions, venues,
)

AttendanceKey = tuple[uuid.UUID, uuid.UUID, date]  # session, participant, day


class AttendanceRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    # -- sessions and who sits in them ------------------------------------------------------------
    def sessions(self, session_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, SessionFacts]:
        wanted = sorted(set(session_ids))
        if not wanted:
            return {}
        rows = self._session.execute(select(sessions.c.id, sessions.c.programme_id, sessions.c.regency,
                                            sessions.c.venue_id, sessions.c.days, sessions.c.status)
                                     .where(sessions.c.id.in_(wanted)))
        return {row.id: SessionFacts(id=row.id, programme_id=row.programme_id, regency=row.regency,
                                     venue_id=row.venue_id, days=tuple(row.days), closed=row.status == "closed")
                for row in rows}

    def share_programmes(self, programme_ids: Iterable[uuid.UUID]) -> None:
        """Hold these programmes until the transaction ends against a re-plan, a lock or a closure of
        their sessions (those take the programme exclusively); check-ins do not wait for each other."""
        wanted = sorted(set(programme_ids))
        if wanted:
            self._session.execute(select(programmes.c.id).where(programmes.c.id.in_(wanted))
                                  .order_by(programmes.c.id).with_for_update(read=True))

    def seated(self, pairs: Iterable[tuple[uuid.UUID, uuid.UUID]]) -> set[tuple[uuid.UUID, uuid.UUID]]:
        """Which of these (participant, session) pairs the published plans seat."""
        wanted = sorted(set(pairs))
        if not wanted:
            return set()
        rows = self._session.execute(select(assignments.c.participant_id, assignments.c.session_id).where(
            tuple_(assignments.c.participant_id, assignments.c.session_id).in_(wanted)))
        return {(participant, session) for participant, session in rows}

    def fix_sessions(self, session_ids: Iterable[uuid.UUID], at: datetime) -> None:
        """Lock these sessions if they are not yet: a re-plan must not move the days or the people
        of a session whose attendance is being taken. One by one, in order (no deadlock between
        two uploads)."""
        for session_id in sorted(set(session_ids)):
            self._session.execute(update(sessions).where(sessions.c.id == session_id, sessions.c.locked.is_(False))
                                  .values(locked=True, updated_at=at))

    def seated_people(self, session_id: uuid.UUID) -> list[dict[str, Any]]:
        """Everyone seated in the session, with what an attendance sheet prints, by cooperative and name."""
        rows = self._session.execute(
            select(assignments.c.participant_id, assignments.c.assigned_at, participants.c.full_name,
                   participants.c.position, cooperatives.c.name.label("cooperative"))
            .select_from(assignments
                         .outerjoin(participants, participants.c.participant_id == assignments.c.participant_id)
                         .outerjoin(cooperatives, cooperatives.c.cooperative_id == assignments.c.cooperative_id))
            .where(assignments.c.session_id == session_id)
            .order_by(cooperatives.c.name, participants.c.full_name, assignments.c.participant_id))
        return [dict(row) for row in rows.mappings()]

    # -- check-in scans -------------------------------------------------------------------------------
    def known_nonces(self, nonces: Iterable[str]) -> dict[str, str]:
        """The nonces among these that were taken before, with what their scan came to."""
        wanted = sorted(set(nonces))
        if not wanted:
            return {}
        return dict(self._session.execute(select(check_in_scans.c.nonce, check_in_scans.c.result)
                                          .where(check_in_scans.c.nonce.in_(wanted))).all())

    def claim_nonces(self, scans: list[dict[str, Any]]) -> set[str]:
        """Keep these scans by their nonces; returns the nonces claimed now. One another upload
        claimed meanwhile (the same upload, retried while the first still ran) is not returned: it
        waits for that upload's transaction and then finds its nonce taken."""
        if not scans:
            return set()
        rows = self._session.execute(pg_insert(check_in_scans).on_conflict_do_nothing()
                                     .returning(check_in_scans.c.nonce), sorted(scans, key=lambda s: s["nonce"]))
        return set(rows.scalars())

    def settle_scan_results(self, results: dict[str, str]) -> None:
        """What scans claimed as ``recorded`` came to, where it was something else."""
        if not results:
            return
        outcome = values(column("nonce", String), column("result", String), name="outcome").data(
            sorted(results.items()))
        self._session.execute(update(check_in_scans).where(check_in_scans.c.nonce == outcome.c.nonce)
                              .values(result=outcome.c.result))

    # -- attendance -----------------------------------------------------------------------------------
    def add_present(self, rows: list[dict[str, Any]]) -> set[AttendanceKey]:
        """Count these days present unless the day is counted (or set) already; returns the keys
        counted now. In key order, so two uploads never wait for each other in a circle."""
        if not rows:
            return set()
        result = self._session.execute(
            pg_insert(attendance).on_conflict_do_nothing()
            .returning(attendance.c.session_id, attendance.c.participant_id, attendance.c.day),
            sorted(rows, key=lambda r: (r["session_id"], r["participant_id"], r["day"])))
        return {tuple(row) for row in result}  # type: ignore[misc]

    def presence(self, keys: Iterable[AttendanceKey]) -> dict[AttendanceKey, bool]:
        wanted = sorted(set(keys))
        if not wanted:
            return {}
        rows = self._session.execute(
            select(attendance.c.session_id, attendance.c.participant_id, attendance.c.day, attendance.c.present)
            .where(tuple_(attendance.c.session_id, attendance.c.participant_id, attendance.c.day).in_(wanted)))
        return {(row.session_id, row.participant_id, row.day): row.present for row in rows}

    def set_by_operator(self, key: AttendanceKey, *, present: bool, by: str, reason: str, at: datetime) -> bool:
        """An operator's word for one day; False if the day already stood so (nothing changed)."""
        session_id, participant_id, day = key
        statement = pg_insert(attendance).values(
            session_id=session_id, participant_id=participant_id, day=day, present=present, source="operator",
            recorded_by=by, reason=reason, scanned_at=None, recorded_at=at)
        changed = self._session.execute(statement.on_conflict_do_update(
            index_elements=[attendance.c.session_id, attendance.c.participant_id, attendance.c.day],
            set_={"present": statement.excluded.present, "source": "operator", "recorded_by": by,
                  "reason": reason, "recorded_at": at},
            where=attendance.c.present.is_distinct_from(statement.excluded.present),
        ).returning(attendance.c.day)).first()
        return changed is not None

    def of_session(self, session_id: uuid.UUID) -> dict[uuid.UUID, list[dict[str, Any]]]:
        """participant -> their days (day, present, source), in day order."""
        rows = self._session.execute(
            select(attendance.c.participant_id, attendance.c.day, attendance.c.present, attendance.c.source)
            .where(attendance.c.session_id == session_id).order_by(attendance.c.participant_id, attendance.c.day))
        days: dict[uuid.UUID, list[dict[str, Any]]] = {}
        for row in rows:
            days.setdefault(row.participant_id, []).append(
                {"day": row.day, "present": row.present, "source": row.source})
        return days

    # -- closing --------------------------------------------------------------------------------------
    def closure(self, session_id: uuid.UUID) -> dict[str, Any] | None:
        row = self._session.execute(select(session_closures).where(session_closures.c.session_id == session_id)
                                    ).mappings().first()
        return None if row is None else dict(row)

    def close(self, session_id: uuid.UUID, programme_id: uuid.UUID, outcomes: list[Outcome], *, by: str,
              at: datetime) -> None:
        self._session.execute(insert(session_closures).values(session_id=session_id, programme_id=programme_id,
                                                              closed_by=by, closed_at=at))
        self._session.execute(update(sessions).where(sessions.c.id == session_id)
                              .values(status="closed", updated_at=at))
        if outcomes:
            self._session.execute(insert(session_outcomes), [
                {"session_id": session_id, "participant_id": o.participant_id, "programme_id": programme_id,
                 "days_attended": o.days_attended, "complete": o.complete} for o in outcomes])

    def purge_scans(self, closed_before: datetime, batch_size: int) -> int:
        """Delete up to ``batch_size`` check-in scans of sessions closed before ``closed_before``;
        returns how many (SKIP LOCKED: two instances purging never wait for each other)."""
        doomed = (select(check_in_scans.c.nonce)
                  .join(session_closures, session_closures.c.session_id == check_in_scans.c.session_id)
                  .where(session_closures.c.closed_at < closed_before).limit(batch_size)
                  .with_for_update(of=check_in_scans, skip_locked=True))
        return self._session.execute(delete(check_in_scans).where(check_in_scans.c.nonce.in_(doomed))).rowcount

    def outcomes(self, session_id: uuid.UUID) -> list[Outcome]:
        rows = self._session.execute(
            select(session_outcomes.c.participant_id, session_outcomes.c.days_attended, session_outcomes.c.complete)
            .where(session_outcomes.c.session_id == session_id).order_by(session_outcomes.c.participant_id))
        return [Outcome(row.participant_id, row.days_attended, row.complete) for row in rows]

    # -- invitations ----------------------------------------------------------------------------------
    def invitations(self, participant_id: uuid.UUID) -> list[dict[str, Any]]:
        """The participant's seat in each published programme, with the session, venue and programme."""
        rows = self._session.execute(
            select(assignments.c.session_id, assignments.c.assigned_at, sessions.c.number, sessions.c.days,
                   sessions.c.status, sessions.c.venue_id, venues.c.name.label("venue_name"),
                   programmes.c.id.label("programme_id"), programmes.c.title.label("programme_title"),
                   cooperatives.c.name.label("cooperative"))
            .select_from(assignments
                         .join(sessions, sessions.c.id == assignments.c.session_id)
                         .join(programmes, programmes.c.id == assignments.c.programme_id)
                         .join(venues, venues.c.id == sessions.c.venue_id)
                         .outerjoin(cooperatives, cooperatives.c.cooperative_id == assignments.c.cooperative_id))
            .where(assignments.c.participant_id == participant_id)
            .order_by(sessions.c.first_day, sessions.c.id))
        return [dict(row) for row in rows.mappings()]

    def note_certificates(self, rows: list[dict[str, Any]]) -> None:
        """The newest version's number and status beside each completion's outcome; an older
        version arriving late changes nothing. One statement for the whole batch: per completion
        only the batch's last row of its highest version can win, as if applied one by one."""
        newest: dict[tuple[Any, Any], dict[str, Any]] = {}
        for row in rows:
            key = (row["participant_id"], row["programme_id"])
            if key not in newest or row["version"] >= newest[key]["version"]:
                newest[key] = row
        if not newest:
            return
        batch = values(column("participant_id", Uuid), column("programme_id", Uuid), column("number", String),
                       column("version", Integer), column("status", String), name="batch").data(
            [(r["participant_id"], r["programme_id"], r["number"], r["version"], r["status"])
             for r in newest.values()])
        self._session.execute(
            update(session_outcomes)
            .where(session_outcomes.c.participant_id == batch.c.participant_id,
                   session_outcomes.c.programme_id == batch.c.programme_id,
                   session_outcomes.c.complete.is_(True),
                   (session_outcomes.c.certificate_version.is_(None))
                   | (session_outcomes.c.certificate_version <= batch.c.version))
            .values(certificate_number=batch.c.number, certificate_version=batch.c.version,
                    certificate_status=batch.c.status))
