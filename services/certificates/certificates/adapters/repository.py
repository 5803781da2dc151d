from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from ..domain.model import RosterEntry, RosterStatus
from .orm import roster


def _row(entry: RosterEntry) -> dict[str, Any]:
    return asdict(entry) | {"status": entry.status.value}


class RosterRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add_all(self, entries: list[RosterEntry]) -> None:
        """Newly registered participants; one already kept (a redelivery, or a later change or
        erasure that arrived first) stays as it is."""
        if entries:
            self._session.execute(
                insert(roster).on_conflict_do_nothing(index_elements=["participant_id"]),
                [_row(entry) for entry in entries],
            )

    def keep_newest(self, entries: list[RosterEntry]) -> None:
        """Insert or replace each entry unless a version as new or newer is kept. At most one per
        participant (``model.newest``): one statement cannot touch a row twice."""
        if not entries:
            return
        statement = insert(roster)
        replaced = {name: statement.excluded[name] for name in
                    ("regency", "full_name", "position_group", "position", "cooperative_id", "status", "version")}
        self._session.execute(
            statement.on_conflict_do_update(index_elements=[roster.c.participant_id],
                                            set_=replaced | {"updated_at": func.now()},
                                            where=roster.c.version < statement.excluded.version),
            [_row(entry) for entry in entries],
        )

    def get(self, participant_id: uuid.UUID, regency: str | None) -> RosterEntry | None:
        query = select(
            roster.c.participant_id, roster.c.regency, roster.c.full_name, roster.c.position_group,
            roster.c.position, roster.c.cooperative_id, roster.c.status, roster.c.version,
        ).where(roster.c.participant_id == participant_id)
        if regency is not None:
            query = query.where(roster.c.regency == regency)
        row = self._session.execute(query).mappings().first()
        return RosterEntry(**dict(row) | {"status": RosterStatus(row["status"])}) if row else None
