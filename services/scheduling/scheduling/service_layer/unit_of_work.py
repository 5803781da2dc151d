from __future__ import annotations

from sqlalchemy.orm import Session

from bimtek_shared.persistence.unit_of_work import UnitOfWork

from ..adapters.repository import SchedulingParticipantRepository


class SchedulingUnitOfWork(UnitOfWork):
    def _open_repositories(self, session: Session) -> None:
        self.participants = SchedulingParticipantRepository(session)
