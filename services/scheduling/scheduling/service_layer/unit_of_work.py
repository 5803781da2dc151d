from __future__ import annotations

from sqlalchemy.orm import Session

from bimtek_shared.persistence.unit_of_work import UnitOfWork

from ..adapters.attendance import AttendanceRepository
from ..adapters.cooperatives import KnownCooperativeRepository
from ..adapters.plans import PlanRepository
from ..adapters.progress import ProgressRepository
from ..adapters.programmes import ProgrammeRepository, ResourcePersonRepository, VenueRepository
from ..adapters.repository import SchedulingParticipantRepository


class SchedulingUnitOfWork(UnitOfWork):
    def _open_repositories(self, session: Session) -> None:
        self.participants = SchedulingParticipantRepository(session)
        self.cooperatives = KnownCooperativeRepository(session)
        self.programmes = ProgrammeRepository(session)
        self.venues = VenueRepository(session)
        self.resource_persons = ResourcePersonRepository(session)
        self.plans = PlanRepository(session)
        self.attendance = AttendanceRepository(session)
        self.progress = ProgressRepository(session)
