from __future__ import annotations

import uuid
from dataclasses import asdict

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from ..domain.model import RosterEntry
from .orm import roster


class RosterRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add_all(self, entries: list[RosterEntry]) -> None:
        if entries:
            self._session.execute(
                insert(roster).on_conflict_do_nothing(index_elements=["participant_id"]),
                [asdict(entry) for entry in entries],
            )

    def get(self, participant_id: uuid.UUID, regency: str | None) -> RosterEntry | None:
        query = select(
            roster.c.participant_id, roster.c.regency, roster.c.full_name,
            roster.c.position_group, roster.c.position, roster.c.cooperative_id,
        ).where(roster.c.participant_id == participant_id)
        if regency is not None:
            query = query.where(roster.c.regency == regency)
        row = self._session.execute(query).mappings().first()
        return RosterEntry(**row) if row else None
