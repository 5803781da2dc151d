from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from ..domain.model import SchedulingParticipant, SchedulingStatus
from .orm import participants


class SchedulingParticipantRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add_all(self, new: list[SchedulingParticipant]) -> None:
        if not new:
            return
        self._session.execute(
            # The inbox already stops duplicates; this only guards against a replayed dead letter
            # of an event whose inbox record has been cleaned up.
            insert(participants).on_conflict_do_nothing(index_elements=["participant_id"]),
            [
                {
                    "participant_id": p.participant_id,
                    "regency": p.regency,
                    "position_group": p.position_group,
                    "cooperative_id": p.cooperative_id,
                    "status": p.status.value,
                    "registered_at": p.registered_at,
                }
                for p in new
            ],
        )

    def get(self, participant_id: uuid.UUID, regency: str | None) -> SchedulingParticipant | None:
        query = select(participants).where(participants.c.participant_id == participant_id)
        if regency is not None:
            query = query.where(participants.c.regency == regency)
        row = self._session.execute(query).mappings().first()
        if row is None:
            return None
        return SchedulingParticipant(
            participant_id=row["participant_id"],
            regency=row["regency"],
            position_group=row["position_group"],
            cooperative_id=row["cooperative_id"],
            registered_at=row["registered_at"],
            status=SchedulingStatus(row["status"]),
        )
