"""The names of others a certificate prints, as certificates keeps them: each cooperative's (from
registration's events, the newest version winning) and each session's venue (``training_sessions``)."""
from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from bimtek_shared.persistence.bulk import insert_many

from .orm import cooperatives, training_sessions


class PlaceRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def keep_cooperatives(self, rows: list[dict[str, Any]]) -> None:
        """Insert or replace each cooperative unless a version as new or newer is kept; at most one
        row per cooperative (one statement cannot touch a row twice)."""
        if not rows:
            return
        statement = insert(cooperatives)
        replaced = {column: statement.excluded[column] for column in rows[0] if column != "cooperative_id"}
        insert_many(self._session,
                    statement.on_conflict_do_update(index_elements=["cooperative_id"],
                                                    set_=replaced | {"updated_at": func.now()},
                                                    where=cooperatives.c.version < statement.excluded.version),
                    rows)

    def cooperatives(self, cooperative_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, dict[str, str | None]]:
        """By id: ``cooperative``, ``village``, ``district``, ``regency`` (a name or None)."""
        if not cooperative_ids:
            return {}
        rows = self._session.execute(
            select(cooperatives.c.cooperative_id, cooperatives.c.name, cooperatives.c.village_name,
                   cooperatives.c.district_name, cooperatives.c.regency_name)
            .where(cooperatives.c.cooperative_id.in_(list(cooperative_ids))))
        return {row.cooperative_id: {"cooperative": row.name, "village": row.village_name,
                                     "district": row.district_name, "regency": row.regency_name} for row in rows}

    def venues(self, session_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, str | None]:
        if not session_ids:
            return {}
        return dict(self._session.execute(
            select(training_sessions.c.session_id, training_sessions.c.venue_name)
            .where(training_sessions.c.session_id.in_(list(session_ids)))).all())
