"""Attendance, closed sessions and completions as certificates keeps them from scheduling."""
from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from bimtek_shared.persistence.bulk import insert_many

from .orm import attendance_days, closed_sessions, completions


class CompletionRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def keep_attendance(self, rows: list[dict[str, Any]]) -> None:
        """The newest word on each (session, participant, day) wins, whatever order events arrive in.
        At most one row per key (one statement cannot touch a row twice)."""
        if not rows:
            return
        statement = insert(attendance_days)
        insert_many(self._session, statement.on_conflict_do_update(
            index_elements=[attendance_days.c.session_id, attendance_days.c.participant_id, attendance_days.c.day],
            set_={"present": statement.excluded.present, "recorded_at": statement.excluded.recorded_at},
            where=attendance_days.c.recorded_at < statement.excluded.recorded_at), rows)

    def add_closed_sessions(self, rows: list[dict[str, Any]]) -> None:
        insert_many(self._session, insert(closed_sessions).on_conflict_do_nothing(), rows)

    def add_completions(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """A programme is completed once: a second completion of the same one changes nothing.
        Returns the rows that were new (a concurrent duplicate waits for the first to commit and
        then is not new): exactly those get a certificate."""
        if not rows:
            return []
        kept = self._session.execute(
            insert(completions).on_conflict_do_nothing().returning(completions.c.participant_id,
                                                                   completions.c.programme_id), rows)
        fresh = {(row.participant_id, row.programme_id) for row in kept}
        return [row for row in rows if (row["participant_id"], row["programme_id"]) in fresh]
