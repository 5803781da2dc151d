"""Scheduling's programmes, sessions and seats as certificates keeps them: the newest wins."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Table, func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from bimtek_shared.persistence.bulk import insert_many

from .orm import seats, training_programmes, training_sessions


class TrainingRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def keep_programmes(self, rows: list[dict[str, Any]]) -> None:
        self._keep_newest(training_programmes, ["programme_id"], "revision", rows)

    def keep_sessions(self, rows: list[dict[str, Any]]) -> None:
        self._keep_newest(training_sessions, ["session_id"], "version", rows)

    def keep_seats(self, rows: list[dict[str, Any]]) -> None:
        self._keep_newest(seats, ["participant_id", "programme_id"], "revision", rows)

    def _keep_newest(self, table: Table, key: list[str], counter: str, rows: list[dict[str, Any]]) -> None:
        """Insert each row, or replace the one kept if this one is newer. At most one row per key
        (one statement cannot touch a row twice)."""
        if not rows:
            return
        statement = insert(table)
        kept = {column: statement.excluded[column] for column in rows[0] if column not in key}
        insert_many(self._session,
                    statement.on_conflict_do_update(index_elements=key, set_={**kept, "updated_at": func.now()},
                                                    where=table.c[counter] < statement.excluded[counter]),
                    rows)
