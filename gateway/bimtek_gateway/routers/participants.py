"""Participants: register one, list them a page at a time, read one back with their progress
(sessions and certificates); change, withdraw or substitute one; and their personal data (UU PDP):
reveal a NIK, export a person's data, erase it. Every read or change of personal data is in the
audit trail (``GET /api/v1/audit-log``)."""
from __future__ import annotations

import re
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response, status
from pydantic import AwareDatetime, BeforeValidator, Field

from bimtek_shared.contracts.envelope import REGENCY_CODE_PATTERN
from bimtek_shared.contracts.pagination import Page

from ..dependencies import (
    ParticipantEditor, ParticipantReader, PersonalDataOfficer, Registrar, ServicesFor, SingleParticipantReader,
    target_regency,
)
from ..identity import Role
from ..problems import Problem
from ..pagination import ListQuery, sort_by
from ..schemas.participants import (
    NikRevealIn, NikRevealOut, ParticipantChangesIn, ParticipantExport, ParticipantIn, ParticipantLifeStatus,
    ParticipantOut, ParticipantStatus, Position, RegisteredParticipant, ReplacementIn, SubstitutionOut,
    UpdatedParticipant, WithdrawalIn,
)

router = APIRouter(prefix="/api/v1/participants", tags=["participants"])


def _iso_8601_only(value: Any) -> Any:
    """Pydantic reads a number ("0.5") as seconds since 1970 too: the documented format
    (date-time, ISO 8601) is all a filter takes."""
    if not isinstance(value, str) or not re.match(r"^\d{4}-\d{2}-\d{2}[Tt ]", value):
        raise ValueError("an ISO 8601 date and time with a zone, e.g. 2025-10-01T00:00:00+07:00")
    return value


IsoDatetime = Annotated[AwareDatetime, BeforeValidator(_iso_8601_only)]


class ParticipantListQuery(ListQuery):
    sort: sort_by("registered_at", "full_name") = "registered_at"  # type: ignore[valid-type]
    regency: str | None = Field(
        default=None, pattern=REGENCY_CODE_PATTERN,
        description="Province administrators: only this regency. Anyone else may name only their own (403 otherwise).",
    )
    cooperative_id: uuid.UUID | None = None
    position_group: Literal["pengurus", "pengawas"] | None = None
    position: Position | None = None
    registered_since: IsoDatetime | None = Field(default=None, description="Registered at or after this time")
    registered_until: IsoDatetime | None = Field(default=None, description="Registered before this time")
    status: ParticipantLifeStatus | None = Field(default=None, description="Only active, withdrawn or erased ones")


@router.get("", response_model=Page[ParticipantOut], summary="List participants")
async def list_participants(query: Annotated[ParticipantListQuery, Query()], caller: ParticipantReader,
                            services: ServicesFor) -> dict[str, Any]:
    """The participants you may see, a page at a time: your regency's (a province administrator:
    every regency's), only your cooperative's if you are a cooperative operator. NIKs are masked.
    Follow `next_cursor` until it is null; pages stay stable while participants are added."""
    return await services.call("registration", "list_participants", query=query.to_rpc())


@router.post("", status_code=status.HTTP_201_CREATED, response_model=RegisteredParticipant,
             summary="Register a participant")
async def register_participant(body: ParticipantIn, caller: Registrar, services: ServicesFor) -> dict[str, Any]:
    """Registers a board member or supervisor. The NIK is checked against the date of birth and
    sex it encodes; it is stored encrypted and only ever returned masked."""
    regency = target_regency(body.regency, caller)
    participant = body.model_dump(mode="json") | {"regency": regency}
    return await services.call("registration", "register_participant", participant=participant)


@router.get("/{participant_id}", response_model=ParticipantStatus, summary="A participant and their progress")
async def get_participant(participant_id: uuid.UUID, caller: SingleParticipantReader,
                          services: ServicesFor) -> dict[str, Any]:
    """The participant as registered, with their sessions and certificates: one call to
    registration, which keeps what scheduling and certificates report. A participant may read
    only themselves."""
    pid = str(participant_id)
    if caller.role == Role.PARTICIPANT.value and caller.user != pid:
        raise Problem("participant_not_found")  # the same answer as for nobody: existence is not disclosed
    return await services.call("registration", "get_participant", participant_id=pid)


# -- a participant's life ------------------------------------------------------------------------
@router.patch("/{participant_id}", response_model=UpdatedParticipant, summary="Change a participant")
async def update_participant(participant_id: uuid.UUID, body: ParticipantChangesIn, caller: ParticipantEditor,
                             services: ServicesFor) -> dict[str, Any]:
    """Changes only the fields sent of an active participant: name, phone, position (one a single
    person holds must be free in the cooperative: 409 `position_taken`), cooperative (one of the
    same regency), or a correction of NIK, sex and birth date sent together."""
    return await services.call("registration", "update_participant", participant_id=str(participant_id),
                               changes=body.model_dump(mode="json", exclude_unset=True))


@router.post("/{participant_id}/withdrawal", response_model=ParticipantOut, summary="Withdraw a participant")
async def withdraw_participant(participant_id: uuid.UUID, body: WithdrawalIn, caller: ParticipantEditor,
                               services: ServicesFor) -> dict[str, Any]:
    """Takes an active participant off their team; they stay listed (status `withdrawn`) and their
    position is free again. A withdrawn participant cannot sign in."""
    return await services.call("registration", "withdraw_participant", participant_id=str(participant_id),
                               reason=body.reason)


@router.post("/{participant_id}/substitution", status_code=status.HTTP_201_CREATED, response_model=SubstitutionOut,
             summary="Substitute a participant")
async def substitute_participant(participant_id: uuid.UUID, body: ReplacementIn, caller: ParticipantEditor,
                                 services: ServicesFor) -> dict[str, Any]:
    """Registers a new person in the same cooperative and position and withdraws the participant, at
    once; each names the other (`replaced_by`, `replaces`), so a chain of substitutions keeps every
    link. A participant no longer active cannot be substituted (409)."""
    return await services.call("registration", "substitute_participant", participant_id=str(participant_id),
                               replacement=body.model_dump(mode="json"))


# -- personal data (UU PDP) ----------------------------------------------------------------------
@router.post("/{participant_id}/nik-reveal", response_model=NikRevealOut, summary="Reveal a participant's NIK")
async def reveal_nik(participant_id: uuid.UUID, body: NikRevealIn, caller: PersonalDataOfficer,
                     services: ServicesFor, response: Response) -> dict[str, Any]:
    """The whole NIK, for an administrator who says why (recorded, with who and when, in the audit
    trail). A POST so that the NIK travels only in a response body, never in a URL; never cached."""
    response.headers["Cache-Control"] = "no-store"
    return await services.call("registration", "reveal_participant_nik", participant_id=str(participant_id),
                               purpose=body.purpose)


@router.get("/{participant_id}/export", response_model=ParticipantExport, summary="Export a person's data")
async def export_participant_data(participant_id: uuid.UUID, caller: PersonalDataOfficer, services: ServicesFor,
                                  response: Response) -> dict[str, Any]:
    """Everything held about the person, the NIK in full, with who read or changed it: the answer to
    their data subject request. Audited; never cached."""
    response.headers["Cache-Control"] = "no-store"
    return await services.call("registration", "export_participant_data", participant_id=str(participant_id))


@router.post("/{participant_id}/erasure", response_model=ParticipantOut, summary="Erase a person's data")
async def erase_participant(participant_id: uuid.UUID, caller: PersonalDataOfficer,
                            services: ServicesFor) -> dict[str, Any]:
    """Erases the person's personal data at their request, in registration and (by the
    `participant.erased` event) in every service: what is left is the id, regency, cooperative,
    position group and times, so counts stay right and an issued certificate stays verifiable.
    Their NIK may register again. Cannot be undone."""
    return await services.call("registration", "erase_participant", participant_id=str(participant_id))
