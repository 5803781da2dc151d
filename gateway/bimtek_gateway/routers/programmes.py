"""Training programmes of a regency: create one, change it, read it with the state of its plan, list them."""
from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from pydantic import Field

from bimtek_shared.contracts.envelope import REGENCY_CODE_PATTERN
from bimtek_shared.contracts.pagination import Page

from ..dependencies import ProgrammePlanner, ProgrammeReader, ServicesFor, target_regency
from ..pagination import ListQuery, sort_by
from ..schemas.programmes import ProgrammeChangesIn, ProgrammeIn, ProgrammeOut, ProgrammeSummary

router = APIRouter(prefix="/api/v1/programmes", tags=["programmes"])


class ProgrammeListQuery(ListQuery):
    sort: sort_by("window_start", "created_at", "title") = "window_start"  # type: ignore[valid-type]
    regency: str | None = Field(default=None, pattern=REGENCY_CODE_PATTERN,
                                description="Province administrators: only this regency. Anyone else may name "
                                            "only their own (403 otherwise).")


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ProgrammeOut, summary="Create a programme")
async def create_programme(body: ProgrammeIn, caller: ProgrammePlanner, services: ServicesFor) -> dict[str, Any]:
    """A programme of one regency. Plan it with `POST /api/v1/programmes/{id}/plan-previews`."""
    programme = body.model_dump(mode="json") | {"regency": target_regency(body.regency, caller)}
    return await services.call("scheduling", "create_programme", programme=programme)


@router.get("", response_model=Page[ProgrammeSummary], summary="List programmes")
async def list_programmes(query: Annotated[ProgrammeListQuery, Query()], caller: ProgrammeReader,
                          services: ServicesFor) -> dict[str, Any]:
    """Your regency's programmes (a province administrator: every regency's), by window unless sorted otherwise."""
    return await services.call("scheduling", "list_programmes", query=query.to_rpc())


@router.get("/{programme_id}", response_model=ProgrammeOut, summary="A programme and the state of its plan")
async def get_programme(programme_id: uuid.UUID, caller: ProgrammeReader, services: ServicesFor) -> dict[str, Any]:
    return await services.call("scheduling", "get_programme", programme_id=str(programme_id))


@router.patch("/{programme_id}", response_model=ProgrammeOut, summary="Change a programme")
async def update_programme(programme_id: uuid.UUID, body: ProgrammeChangesIn, caller: ProgrammePlanner,
                           services: ServicesFor) -> dict[str, Any]:
    """Changes only the fields sent. Its regency never changes."""
    return await services.call("scheduling", "update_programme", programme_id=str(programme_id),
                               changes=body.model_dump(mode="json", exclude_unset=True))
