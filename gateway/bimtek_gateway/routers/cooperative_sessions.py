"""A cooperative's session, set by hand: a manual move the planner keeps in every re-plan."""
from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter

from ..dependencies import ProgrammePlanner, ServicesFor
from ..schemas.plans import SessionDetailOut, SessionMoveIn

router = APIRouter(prefix="/api/v1/cooperatives/{cooperative_id}/session", tags=["sessions"])


@router.put("", response_model=SessionDetailOut, summary="Move a cooperative to a session")
async def move_cooperative(cooperative_id: uuid.UUID, body: SessionMoveIn, caller: ProgrammePlanner,
                           services: ServicesFor) -> dict[str, Any]:
    """Moves the cooperative's whole team into this session of a published plan and re-plans; the
    move holds in every re-plan after. Refused if the session is locked (409 `session_locked`) or
    has no room for the whole team (409 `cooperative_move_impossible`). Answers the session."""
    return await services.call("scheduling", "move_cooperative", cooperative_id=str(cooperative_id),
                               session_id=str(body.session_id))
