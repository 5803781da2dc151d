"""Venues of a regency: their seats and the days they may be used."""
from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from pydantic import Field

from bimtek_shared.contracts.envelope import REGENCY_CODE_PATTERN
from bimtek_shared.contracts.pagination import Page

from ..dependencies import ProgrammePlanner, ProgrammeReader, ServicesFor, target_regency
from ..pagination import ListQuery, sort_by
from ..schemas.programmes import VenueChangesIn, VenueIn, VenueOut

router = APIRouter(prefix="/api/v1/venues", tags=["venues"])


class VenueListQuery(ListQuery):
    sort: sort_by("name", "created_at") = "name"  # type: ignore[valid-type]
    regency: str | None = Field(default=None, pattern=REGENCY_CODE_PATTERN,
                                description="Province administrators: only this regency. Anyone else may name "
                                            "only their own (403 otherwise).")


@router.post("", status_code=status.HTTP_201_CREATED, response_model=VenueOut, summary="Add a venue")
async def create_venue(body: VenueIn, caller: ProgrammePlanner, services: ServicesFor) -> dict[str, Any]:
    venue = body.model_dump(mode="json") | {"regency": target_regency(body.regency, caller)}
    return await services.call("scheduling", "create_venue", venue=venue)


@router.get("", response_model=Page[VenueOut], summary="List venues")
async def list_venues(query: Annotated[VenueListQuery, Query()], caller: ProgrammeReader,
                      services: ServicesFor) -> dict[str, Any]:
    return await services.call("scheduling", "list_venues", query=query.to_rpc())


@router.get("/{venue_id}", response_model=VenueOut, summary="A venue")
async def get_venue(venue_id: uuid.UUID, caller: ProgrammeReader, services: ServicesFor) -> dict[str, Any]:
    return await services.call("scheduling", "get_venue", venue_id=str(venue_id))


@router.patch("/{venue_id}", response_model=VenueOut, summary="Change a venue")
async def update_venue(venue_id: uuid.UUID, body: VenueChangesIn, caller: ProgrammePlanner,
                       services: ServicesFor) -> dict[str, Any]:
    """Changes only the fields sent. A day taken out of `available` (the hall is needed for
    something else) re-plans the published plans that use it: only their sessions on that day move."""
    return await services.call("scheduling", "update_venue", venue_id=str(venue_id),
                               changes=body.model_dump(mode="json", exclude_unset=True))
