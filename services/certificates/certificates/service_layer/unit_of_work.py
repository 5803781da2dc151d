from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from bimtek_shared.persistence.unit_of_work import UnitOfWork

from ..adapters.certificates import CertificateRepository
from ..adapters.completions import CompletionRepository
from ..adapters.downloads import DownloadQueries
from ..adapters.places import PlaceRepository
from ..adapters.progress import ProgressRepository
from ..adapters.repository import RosterRepository
from ..adapters.training import TrainingRepository
from .issuing import Issuing


class CertificatesUnitOfWork(UnitOfWork):
    def __init__(self, *args: Any, issuing: Issuing, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.issuing = issuing

    @classmethod
    def dependencies_from_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        return {"issuing": Issuing.from_config(config)}

    def _open_repositories(self, session: Session) -> None:
        self.roster = RosterRepository(session)
        self.training = TrainingRepository(session)
        self.completions = CompletionRepository(session)
        self.certificates = CertificateRepository(session)
        self.downloads = DownloadQueries(session)
        self.places = PlaceRepository(session)
        self.progress = ProgressRepository(session)
