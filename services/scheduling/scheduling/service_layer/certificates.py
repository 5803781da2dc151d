"""What scheduling keeps of certificates' events: which completion got which certificate number,
and whether it still stands (issued, re-issued, revoked), beside the session outcome."""
from __future__ import annotations

from bimtek_shared.contracts.envelope import EventEnvelope
from bimtek_shared.contracts.events import certificate_standing
from bimtek_shared.persistence.unit_of_work import apply_once

from .unit_of_work import SchedulingUnitOfWork


def record_certificates(uow: SchedulingUnitOfWork, events: list[EventEnvelope], consumer: str) -> int:
    def keep(uow: SchedulingUnitOfWork, fresh: list[EventEnvelope]) -> None:
        uow.attendance.note_certificates([certificate_standing(event.type, event.payload) for event in fresh])

    return apply_once(uow, events, consumer, keep)
