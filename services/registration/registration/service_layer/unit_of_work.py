from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from bimtek_shared.persistence.unit_of_work import UnitOfWork

from ..adapters.imports import ImportRepository
from ..adapters.nik_protector import NikProtector
from ..adapters.repository import ParticipantRepository


class RegistrationUnitOfWork(UnitOfWork):
    def __init__(self, *args: Any, protector: NikProtector, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._protector = protector

    @classmethod
    def dependencies_from_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        return {"protector": NikProtector(config["NIK_ENCRYPTION_KEY"], config["NIK_LOOKUP_KEY"])}

    def _open_repositories(self, session: Session) -> None:
        self.participants = ParticipantRepository(session, self._protector)
        self.imports = ImportRepository(session, self._protector)
