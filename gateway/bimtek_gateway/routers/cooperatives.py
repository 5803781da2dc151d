"""Cooperatives (Koperasi Desa/Kelurahan Merah Putih): register one for its villages, change it,
read it with its team, list them, and count them per kecamatan."""
from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field

from bimtek_shared.contracts.envelope import DISTRICT_CODE_PATTERN, REGENCY_CODE_PATTERN
from bimtek_shared.contracts.pagination import Page

from ..dependencies import (
    CooperativeManager, CooperativeReader, CooperativeStatisticsReader, ServicesFor, target_regency,
)
from ..pagination import ListQuery, sort_by
from ..schemas.cooperatives import (
    CooperativeChangesIn, CooperativeIn, CooperativeOut, CooperativeStatisticsOut, CooperativeSummary,
)

router = APIRouter(prefix="/api/v1/cooperatives", tags=["cooperatives"])

REGENCY_FILTER = "Province administrators: only this regency. Anyone else may name only their own (403 otherwise)."


class CooperativeListQuery(ListQuery):
    sort: sort_by("name", "created_at") = "name"  # type: ignore[valid-type]
    regency: str | None = Field(default=None, pattern=REGENCY_CODE_PATTERN, description=REGENCY_FILTER)
    district: str | None = Field(default=None, pattern=DISTRICT_CODE_PATTERN,
                                 description="Only those serving a village in this kecamatan")
    team_complete: bool | None = Field(default=None, description="Only cooperatives whose team is (not) complete")


class StatisticsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    regency: str | None = Field(default=None, pattern=REGENCY_CODE_PATTERN,
                                description="Required for province administrators; anyone else gets their own")


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CooperativeOut, summary="Register a cooperative")
async def register_cooperative(body: CooperativeIn, caller: CooperativeManager,
                               services: ServicesFor) -> dict[str, Any]:
    """Registers a cooperative for one or more desa/kelurahan of a regency (small villages may share
    one). A village another cooperative serves is refused (409), as is one of another regency."""
    cooperative = body.model_dump(mode="json") | {"regency": target_regency(body.regency, caller)}
    return await services.call("registration", "register_cooperative", cooperative=cooperative)


@router.get("", response_model=Page[CooperativeSummary], summary="List cooperatives")
async def list_cooperatives(query: Annotated[CooperativeListQuery, Query()], caller: CooperativeReader,
                            services: ServicesFor) -> dict[str, Any]:
    """The cooperatives you may see, a page at a time, by name unless sorted otherwise: your
    regency's (a province administrator: every regency's), only your own if you are a cooperative
    operator. Follow `next_cursor` until it is null."""
    return await services.call("registration", "list_cooperatives", query=query.to_rpc())


# Declared before /{cooperative_id}, which would otherwise take "statistics" for an id.
@router.get("/statistics", response_model=CooperativeStatisticsOut, summary="Cooperatives per kecamatan")
async def cooperative_statistics(query: Annotated[StatisticsQuery, Query()], caller: CooperativeStatisticsReader,
                                 services: ServicesFor) -> dict[str, Any]:
    """Per kecamatan of a regency: villages, villages with a cooperative, cooperatives, cooperatives
    with a complete team, and their participants; with the regency's totals."""
    return await services.call("registration", "cooperative_statistics", query=query.model_dump(exclude_none=True))


@router.get("/{cooperative_id}", response_model=CooperativeOut, summary="A cooperative and its team")
async def get_cooperative(cooperative_id: uuid.UUID, caller: CooperativeReader,
                          services: ServicesFor) -> dict[str, Any]:
    """The cooperative with its villages, contact, and team: positions held, counts, and whether the
    team is complete (if not, every reason why)."""
    return await services.call("registration", "get_cooperative", cooperative_id=str(cooperative_id))


@router.patch("/{cooperative_id}", response_model=CooperativeOut, summary="Change a cooperative")
async def update_cooperative(cooperative_id: uuid.UUID, body: CooperativeChangesIn, caller: CooperativeManager,
                             services: ServicesFor) -> dict[str, Any]:
    """Changes only the fields sent. Its regency never changes."""
    return await services.call("registration", "update_cooperative", cooperative_id=str(cooperative_id),
                               changes=body.model_dump(mode="json", exclude_unset=True))
