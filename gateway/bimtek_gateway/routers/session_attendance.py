"""A session's attendance: as it stands, one day set by hand, and the paper sheet of a day."""
from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from ..dependencies import AttendanceKeeper, ProgrammeReader, ServicesFor
from ..documents import PDF_RESPONSES, pdf_response
from ..schemas.attendance import AttendanceDayIn, ParticipantAttendanceOut, SessionAttendanceOut

router = APIRouter(prefix="/api/v1/sessions/{session_id}", tags=["attendance"])


@router.get("/attendance", response_model=SessionAttendanceOut, summary="A session's attendance")
async def get_attendance(session_id: uuid.UUID, caller: ProgrammeReader, services: ServicesFor,
                         response: Response) -> dict[str, Any]:
    """Everyone seated in the session with the days they attended; once it is closed, who completed it."""
    response.headers["Cache-Control"] = "no-store"
    return await services.call("scheduling", "get_attendance", session_id=str(session_id))


@router.put("/attendance/{participant_id}", response_model=ParticipantAttendanceOut,
            summary="Set a participant present or absent for a day")
async def set_attendance(session_id: uuid.UUID, participant_id: uuid.UUID, body: AttendanceDayIn,
                         caller: AttendanceKeeper, services: ServicesFor) -> dict[str, Any]:
    """By hand, with a reason: who, when and why go into the `attendance.recorded` event. The
    operator's word stands over a scan of that day uploaded later. Refused once the session is
    closed (409 `session_closed`)."""
    return await services.call("scheduling", "set_attendance", session_id=str(session_id),
                               participant_id=str(participant_id), attendance_day=body.model_dump(mode="json"))


@router.get("/attendance-sheet.pdf", response_class=Response, responses=PDF_RESPONSES,
            summary="The attendance sheet of a session day (PDF)")
async def get_attendance_sheet(
    session_id: uuid.UUID, caller: ProgrammeReader, services: ServicesFor,
    day: Annotated[date | None, Query(description="One of the session's days; by default today's (Asia/Jakarta) "
                                                  "if the session is on, else its first")] = None,
    with_qr: Annotated[bool, Query(description="Each row's QR code too, to scan off the sheet")] = False,
) -> Response:
    """The paper fallback: every participant seated in the session, by cooperative, with their
    position and a column to sign, A4, in Bahasa Indonesia."""
    answer = await services.call("scheduling", "get_attendance_sheet", session_id=str(session_id),
                                 query={"day": day and day.isoformat(), "with_qr": with_qr})
    return await pdf_response(answer, f"daftar-hadir-{answer['day']}.pdf")
