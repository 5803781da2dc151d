"""A participant's invitation: the session, its days, the venue and the QR code to show at
check-in; as data for the mobile app, or as a PDF to print."""
from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response

from ..dependencies import InvitationReader, ServicesFor
from ..documents import PDF_RESPONSES, pdf_response
from ..identity import Role
from ..problems import Problem
from ..schemas.attendance import InvitationsOut

router = APIRouter(prefix="/api/v1/participants/{participant_id}", tags=["invitations"])


def _own_or_staff(participant_id: uuid.UUID, caller: Any) -> str:
    pid = str(participant_id)
    if caller.role == Role.PARTICIPANT.value and caller.user != pid:
        raise Problem("participant_not_found")  # the same answer as for nobody: existence is not disclosed
    return pid


@router.get("/invitation", response_model=InvitationsOut, summary="A participant's invitation")
async def get_invitation(participant_id: uuid.UUID, caller: InvitationReader, services: ServicesFor,
                         response: Response) -> dict[str, Any]:
    """One invitation per programme the participant is seated in. A participant reads only their
    own; their regency's staff read anyone's. 404 `invitation_not_found` until a plan seats them."""
    answer = await services.call("scheduling", "get_invitation", participant_id=_own_or_staff(participant_id, caller))
    response.headers["Cache-Control"] = "no-store"
    return answer


@router.get("/invitation.pdf", response_class=Response, responses=PDF_RESPONSES,
            summary="A participant's invitation as a PDF")
async def get_invitation_pdf(participant_id: uuid.UUID, caller: InvitationReader, services: ServicesFor) -> Response:
    """A4, in Bahasa Indonesia, one page per invitation, with its QR code."""
    answer = await services.call("scheduling", "get_invitation_pdf",
                                 participant_id=_own_or_staff(participant_id, caller))
    return await pdf_response(answer, "undangan-bimtek.pdf")
