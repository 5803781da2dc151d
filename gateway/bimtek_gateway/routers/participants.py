"""Participants: register one, read one back with what every service knows of it."""
from __future__ import annotations

import asyncio
import uuid
from typing import Any, Awaitable, Callable

from fastapi import APIRouter, status

from ..dependencies import Registrar, ServicesFor, target_regency
from ..rpc import RemoteError, ServiceTimeout, ServiceUnavailable
from ..schemas.participants import ParticipantIn, ParticipantStatus, RegisteredParticipant, ServiceView

NOT_RECORDED_YET = "not_recorded_yet"

router = APIRouter(prefix="/api/v1/participants", tags=["participants"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=RegisteredParticipant,
             summary="Register a participant")
async def register_participant(body: ParticipantIn, caller: Registrar, services: ServicesFor) -> dict[str, Any]:
    """Registers a board member or supervisor. The NIK is checked against the date of birth and
    sex it encodes; it is stored encrypted and only ever returned masked."""
    regency = target_regency(body.regency, caller)
    participant = body.model_dump(mode="json") | {"regency": regency}
    return await services.call("registration", "register_participant", participant=participant)


@router.get("/{participant_id}", response_model=ParticipantStatus, summary="A participant and their progress")
async def get_participant(participant_id: uuid.UUID, services: ServicesFor) -> dict[str, Any]:
    """The participant as registered, with their scheduling status and certificates. If the
    scheduling or certificates service is down, the rest is still answered, marked unavailable."""
    pid = str(participant_id)
    participant, scheduling, certificates = await asyncio.gather(
        services.call("registration", "get_participant", participant_id=pid),
        _view(services.call("scheduling", "get_participant_status", participant_id=pid),
              lambda answer: answer["status"]),
        _view(services.call("certificates", "get_roster_entry", participant_id=pid),
              lambda answer: "on_roster"),
    )
    return {"participant": participant, "scheduling": scheduling, "certificates": certificates}


async def _view(call: Awaitable[dict[str, Any]], status_of: Callable[[dict[str, Any]], str]) -> ServiceView:
    """What one service says of the participant; this answer can do without it if it is down."""
    try:
        return ServiceView(available=True, status=status_of(await call))
    except (ServiceUnavailable, ServiceTimeout):
        return ServiceView(available=False)
    except RemoteError as exc:
        if exc.exc_args and exc.exc_args[0] == "participant_not_found":
            # Registered, but the event has not reached this service yet.
            return ServiceView(available=True, status=NOT_RECORDED_YET)
        raise
