from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from bimtek_shared.persistence.unit_of_work import UnitOfWork

from ..adapters.audit import AuditLog
from ..adapters.cooperatives import CooperativeRepository
from ..adapters.cursor_sealer import CursorSealer
from ..adapters.imports import FileImportRepository, ImportRepository
from ..adapters.nik_protector import NikProtector
from ..adapters.participant_progress import ParticipantProgressView
from ..adapters.regions import RegionIndexCache, RegionRepository
from ..adapters.repository import ParticipantRepository


class RegistrationUnitOfWork(UnitOfWork):
    def __init__(self, *args: Any, protector: NikProtector, cursor_sealer: CursorSealer,
                 region_index: RegionIndexCache, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._protector = protector
        self.cursor_sealer = cursor_sealer
        self._region_index = region_index

    @classmethod
    def dependencies_from_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        protector = NikProtector.from_config(config)
        return {"protector": protector,
                "cursor_sealer": CursorSealer(protector.active_key_b64),
                "region_index": RegionIndexCache()}

    def _open_repositories(self, session: Session) -> None:
        self.participants = ParticipantRepository(session, self._protector)
        self.audit = AuditLog(session)
        self.imports = ImportRepository(session, self._protector)
        self.file_imports = FileImportRepository(session, self._protector)
        self.regions = RegionRepository(session, self._region_index)
        self.cooperatives = CooperativeRepository(session)
        self.participant_progress = ParticipantProgressView(session)
