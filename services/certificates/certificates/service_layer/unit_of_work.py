from __future__ import annotations

from sqlalchemy.orm import Session

from bimtek_shared.persistence.unit_of_work import UnitOfWork

from ..adapters.completions import CompletionRepository
from ..adapters.repository import RosterRepository
from ..adapters.training import TrainingRepository


class CertificatesUnitOfWork(UnitOfWork):
    def _open_repositories(self, session: Session) -> None:
        self.roster = RosterRepository(session)
        self.training = TrainingRepository(session)
        self.completions = CompletionRepository(session)
