"""Use cases of the certificates service."""
from __future__ import annotations

from typing import Any

from bimtek_shared.contracts.caller import Caller, require_caller
from bimtek_shared.contracts.envelope import EventEnvelope
from bimtek_shared.contracts.errors import DomainError
from bimtek_shared.contracts.ids import parse_id
from bimtek_shared.contracts.events import ParticipantRegisteredV1
from bimtek_shared.persistence.unit_of_work import apply_once

from ..domain.model import RosterEntry
from .unit_of_work import CertificatesUnitOfWork


def record_roster_entries(uow: CertificatesUnitOfWork, events: list[EventEnvelope], consumer: str) -> int:
    """Keep the names certificates will print; returns how many participants were new."""

    def add(uow: CertificatesUnitOfWork, fresh: list[EventEnvelope]) -> None:
        uow.roster.add_all([_roster_entry(event) for event in fresh])

    return apply_once(uow, events, consumer, add)


def _roster_entry(event: EventEnvelope) -> RosterEntry:
    payload = ParticipantRegisteredV1.model_validate(event.payload)
    return RosterEntry(
        participant_id=payload.participant_id,
        regency=event.regency,
        full_name=payload.full_name,
        position_group=payload.position_group,
        position=payload.position,
        cooperative_id=payload.cooperative_id,
    )


def get_roster_entry(uow: CertificatesUnitOfWork, caller: Caller | None, participant_id: str) -> dict[str, Any]:
    caller = require_caller(caller)
    pid = parse_id(participant_id, "participant_not_found")
    with uow:
        entry = uow.roster.get(pid, regency=caller.regency_scope)
    if entry is None:
        raise DomainError("participant_not_found")
    return {"participant_id": str(entry.participant_id), "on_roster": True, "certificates": []}
