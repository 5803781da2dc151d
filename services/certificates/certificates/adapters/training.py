"""Scheduling's programmes, sessions and seats as certificates keeps them: the newest wins."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Table, func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from bimtek_shared.persistence.bulk import higher, keep_newest

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
        keep_newest(self._session, table, key, rows, newer=higher(counter),
                    replaces=table.c[counter] < insert(table).excluded[counter], also_set={"updated_at": func.now()})
