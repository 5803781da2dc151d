from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from bimtek_shared.persistence.bulk import insert_many

from ..domain.model import RosterEntry, RosterStatus
from .orm import roster


def _row(entry: RosterEntry) -> dict[str, Any]:
    # Not dataclasses.asdict: it deep-copies every value (each UUID), most of a batch's CPU time.
    return {"participant_id": entry.participant_id, "regency": entry.regency, "full_name": entry.full_name,
            "position_group": entry.position_group, "position": entry.position,
            "cooperative_id": entry.cooperative_id, "status": entry.status.value, "version": entry.version}


class RosterRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add_all(self, entries: list[RosterEntry]) -> None:
        """Newly registered participants; one already kept (a redelivery, or a later change or
        erasure that arrived first) stays as it is."""
        insert_many(self._session, insert(roster).on_conflict_do_nothing(index_elements=["participant_id"]),
                    [_row(entry) for entry in entries])

    def keep_newest(self, entries: list[RosterEntry]) -> None:
        """Insert or replace each entry unless a version as new or newer is kept. At most one per
        participant (``model.newest``): one statement cannot touch a row twice."""
        if not entries:
            return
        statement = insert(roster)
        replaced = {name: statement.excluded[name] for name in
                    ("regency", "full_name", "position_group", "position", "cooperative_id", "status", "version")}
        insert_many(self._session,
                    statement.on_conflict_do_update(index_elements=[roster.c.participant_id],
                                                    set_=replaced | {"updated_at": func.now()},
                                                    where=roster.c.version < statement.excluded.version),
                    [_row(entry) for entry in entries])

    def get(self, participant_id: uuid.UUID, regency: str | None) -> RosterEntry | None:
        query = _ENTRY.where(roster.c.participant_id == participant_id)
        if regency is not None:
            query = query.where(roster.c.regency == regency)
        row = self._session.execute(query).mappings().first()
        return _entry(row) if row else None

    def entries(self, participant_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, RosterEntry]:
        """The roster entries of these participants (those it has), in one query."""
        if not participant_ids:
            return {}
        rows = self._session.execute(_ENTRY.where(roster.c.participant_id.in_(list(participant_ids))))
        return {row.participant_id: _entry(row._mapping) for row in rows}


_ENTRY = select(roster.c.participant_id, roster.c.regency, roster.c.full_name, roster.c.position_group,
                roster.c.position, roster.c.cooperative_id, roster.c.status, roster.c.version)


def _entry(row: Mapping[str, Any]) -> RosterEntry:
    return RosterEntry(**dict(row) | {"status": RosterStatus(row["status"])})
