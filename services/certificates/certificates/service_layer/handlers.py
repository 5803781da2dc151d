"""Use cases of the certificates service."""
from __future__ import annotations

import uuid
from typing import Any

from bimtek_shared.contracts.caller import Caller, require_caller
from bimtek_shared.contracts.envelope import EventEnvelope
from bimtek_shared.contracts.errors import DomainError
from bimtek_shared.contracts.events import ParticipantRegisteredV1

from ..domain.model import RosterEntry
from .unit_of_work import CertificatesUnitOfWork


def record_roster_entry(uow: CertificatesUnitOfWork, event: EventEnvelope, consumer: str) -> bool:
    """Keep the names a certificate will print; False if the event was seen before."""
    payload = ParticipantRegisteredV1.model_validate(event.payload)
    with uow:
        if not uow.claim(event, consumer):
            return False
        uow.roster.add(
            RosterEntry(
                participant_id=payload.participant_id,
                regency=event.regency,
                full_name=payload.full_name,
                position_group=payload.position_group,
                position=payload.position,
                cooperative_id=payload.cooperative_id,
            )
        )
        uow.commit()
    return True


def get_roster_entry(uow: CertificatesUnitOfWork, caller: Caller | None, participant_id: str) -> dict[str, Any]:
    caller = require_caller(caller)
    try:
        pid = uuid.UUID(str(participant_id))
    except ValueError:
        raise DomainError("participant_not_found") from None
    with uow:
        entry = uow.roster.get(pid, regency=caller.regency_scope)
    if entry is None:
        raise DomainError("participant_not_found")
    return {"participant_id": str(entry.participant_id), "on_roster": True, "certificates": []}
