"""Sessions of published plans: list them, read one with its teams, lock and unlock one."""
from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field

from bimtek_shared.contracts.envelope import REGENCY_CODE_PATTERN
from bimtek_shared.contracts.pagination import Page

from ..dependencies import ProgrammePlanner, ProgrammeReader, ServicesFor
from ..pagination import ListQuery, sort_by
from ..schemas.plans import PublishedSessionOut, SessionDetailOut

router = APIRouter(prefix="/api/v1/sessions", tags=["sessions"])


class SessionListQuery(ListQuery):
    sort: sort_by("first_day") = "first_day"  # type: ignore[valid-type]
    regency: str | None = Field(default=None, pattern=REGENCY_CODE_PATTERN,
                                description="Province administrators: only this regency. Anyone else may name "
                                            "only their own (403 otherwise).")
    programme_id: uuid.UUID | None = Field(default=None, description="Only this programme's sessions")


@router.get("", response_model=Page[PublishedSessionOut], summary="List sessions")
async def list_sessions(query: Annotated[SessionListQuery, Query()], caller: ProgrammeReader,
                        services: ServicesFor) -> dict[str, Any]:
    """Sessions of published plans, by their first day."""
    return await services.call("scheduling", "list_sessions", query=query.to_rpc())


@router.get("/{session_id}", response_model=SessionDetailOut, summary="A session and its teams")
async def get_session(session_id: uuid.UUID, caller: ProgrammeReader, services: ServicesFor) -> dict[str, Any]:
    """The session with why it holds whom, and each cooperative with how many of its people sit in it."""
    return await services.call("scheduling", "get_session", session_id=str(session_id))


@router.put("/{session_id}/lock", response_model=SessionDetailOut, summary="Lock a session")
async def lock_session(session_id: uuid.UUID, caller: ProgrammePlanner, services: ServicesFor) -> dict[str, Any]:
    """From now on re-plans leave it exactly as it is: days, venue, resource persons and people
    (lock a session once its participants have been told, or once it starts)."""
    return await services.call("scheduling", "lock_session", session_id=str(session_id))


@router.delete("/{session_id}/lock", response_model=SessionDetailOut, summary="Unlock a session")
async def unlock_session(session_id: uuid.UUID, caller: ProgrammePlanner, services: ServicesFor) -> dict[str, Any]:
    return await services.call("scheduling", "unlock_session", session_id=str(session_id))
