"""Use cases of the registration service; callable from nameko, a test or a command line alike."""
from __future__ import annotations

import uuid
from typing import Any

from bimtek_shared.contracts.caller import Caller, require_caller
from bimtek_shared.contracts.errors import DomainError
from bimtek_shared.contracts.events import ParticipantRegisteredV1

from ..domain import model
from .commands import RegisterParticipant
from .unit_of_work import RegistrationUnitOfWork


def register_participant(
    uow: RegistrationUnitOfWork, caller: Caller | None, command: RegisterParticipant
) -> dict[str, Any]:
    caller = require_caller(caller)
    if not caller.may_access(command.regency):
        raise DomainError("regency_out_of_scope")
    participant = model.register(**command.model_dump())
    with uow:
        if uow.participants.exists_with_nik(participant.nik):
            raise DomainError("participant_already_registered")
        uow.participants.add(participant)
        uow.emit(
            "participant.registered",
            ParticipantRegisteredV1(
                participant_id=participant.id,
                participant_code=participant.participant_code,
                full_name=participant.full_name,
                sex=participant.sex,
                position_group=participant.position_group.value,
                position=participant.position,
                cooperative_id=participant.cooperative_id,
                registered_at=participant.registered_at,
            ),
            regency=participant.regency,
            aggregate_id=participant.id,
        )
        uow.commit()
        view = uow.participants.get(participant.id, regency=None)
    return {**_public(view), "warnings": participant.warnings}


def get_participant(uow: RegistrationUnitOfWork, caller: Caller | None, participant_id: str) -> dict[str, Any]:
    caller = require_caller(caller)
    try:
        pid = uuid.UUID(str(participant_id))
    except ValueError:
        raise DomainError("participant_not_found") from None
    with uow:
        view = uow.participants.get(pid, regency=caller.regency_scope)
    if view is None:
        # The same answer for "not there" and "another regency's": existence is not disclosed.
        raise DomainError("participant_not_found")
    return _public(view)


def _public(view: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(view["id"]),
        "regency": view["regency"],
        "participant_code": view["participant_code"],
        "nik_masked": view["nik_masked"],
        "full_name": view["full_name"],
        "sex": view["sex"],
        "birth_date": view["birth_date"].isoformat(),
        "phone": view["phone"],
        "position": view["position"],
        "position_group": model.POSITIONS[view["position"]].value,
        "cooperative_id": str(view["cooperative_id"]) if view["cooperative_id"] else None,
        "registered_at": view["registered_at"].isoformat(),
    }
