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

    def add(self, participant: SchedulingParticipant) -> None:
        self._session.execute(
            insert(participants)
            .values(
                participant_id=participant.participant_id,
                regency=participant.regency,
                position_group=participant.position_group,
                cooperative_id=participant.cooperative_id,
                status=participant.status.value,
                registered_at=participant.registered_at,
            )
            # The inbox already stops duplicates; this only guards against a replayed dead letter
            # of an event whose inbox record has been cleaned up.
            .on_conflict_do_nothing(index_elements=["participant_id"])
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
