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


def record_registered_participants(uow: SchedulingUnitOfWork, events: list[EventEnvelope], consumer: str) -> int:
    """Put newly registered participants on the waiting list; returns how many were new."""

    def add(uow: SchedulingUnitOfWork, fresh: list[EventEnvelope]) -> None:
        uow.participants.add_all([_waiting(event) for event in fresh])

    return apply_once(uow, events, consumer, add)


def _waiting(event: EventEnvelope) -> model.SchedulingParticipant:
    payload = ParticipantRegisteredV1.model_validate(event.payload)
    return model.enter_waiting_list(
        participant_id=payload.participant_id,
        regency=event.regency,
        position_group=payload.position_group,
        cooperative_id=payload.cooperative_id,
        registered_at=payload.registered_at,
    )


def get_participant_status(uow: SchedulingUnitOfWork, caller: Caller | None, participant_id: str) -> dict[str, Any]:
    caller = require_caller(caller)
    pid = parse_id(participant_id, "participant_not_found")
    with uow:
        participant = uow.participants.get(pid, regency=caller.regency_scope)
    if participant is None:
        raise DomainError("participant_not_found")
    return {"participant_id": str(participant.participant_id), "status": participant.status.value}
