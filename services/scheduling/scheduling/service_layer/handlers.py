"""Use cases of the scheduling service."""
from __future__ import annotations

from typing import Any

from bimtek_shared.contracts.caller import Caller, require_caller
from bimtek_shared.contracts.envelope import EventEnvelope
from bimtek_shared.contracts.errors import DomainError
from bimtek_shared.contracts.ids import parse_id
from bimtek_shared.contracts.events import ParticipantRegisteredV1
from bimtek_shared.persistence.unit_of_work import apply_once

from ..domain import model
from .unit_of_work import SchedulingUnitOfWork


def record_registered_participant(uow: SchedulingUnitOfWork, event: EventEnvelope, consumer: str) -> bool:
    """Put a newly registered participant on the waiting list; False if the event was seen before."""
    payload = ParticipantRegisteredV1.model_validate(event.payload)
    participant = model.enter_waiting_list(
        participant_id=payload.participant_id,
        regency=event.regency,
        position_group=payload.position_group,
        cooperative_id=payload.cooperative_id,
        registered_at=payload.registered_at,
    )
    return apply_once(uow, event, consumer, lambda uow: uow.participants.add(participant))


def get_participant_status(uow: SchedulingUnitOfWork, caller: Caller | None, participant_id: str) -> dict[str, Any]:
    caller = require_caller(caller)
    pid = parse_id(participant_id, "participant_not_found")
    with uow:
        participant = uow.participants.get(pid, regency=caller.regency_scope)
    if participant is None:
        raise DomainError("participant_not_found")
    return {"participant_id": str(participant.participant_id), "status": participant.status.value}
