"""Closing a session: its attendance becomes final and who attended enough completes it."""
from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter

from ..dependencies import AttendanceKeeper, ServicesFor
from ..schemas.attendance import SessionClosureOut

router = APIRouter(prefix="/api/v1/sessions/{session_id}/closure", tags=["attendance"])


@router.post("", response_model=SessionClosureOut, summary="Close a session")
async def close_session(session_id: uuid.UUID, caller: AttendanceKeeper, services: ServicesFor) -> dict[str, Any]:
    """From the session's last day on (409 `session_not_over` before). Participants who attended at
    least the programme's `min_attendance_days` complete it (`participant.completed`, for their
    certificates); the others are listed as not complete. Check-ins and attendance by hand for the
    session are refused from then on. Closing again answers the same and changes nothing."""
    return await services.call("scheduling", "close_session", session_id=str(session_id))
