"""Plan previews: the planner's proposal for a programme, to check before publishing it."""
from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response, status

from ..dependencies import ProgrammePlanner, ProgrammeReader, ServicesFor
from ..schemas.plans import PlanPreviewOut

router = APIRouter(prefix="/api/v1/programmes/{programme_id}/plan-previews", tags=["plans"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=PlanPreviewOut, summary="Preview a plan")
async def preview_plan(programme_id: uuid.UUID, caller: ProgrammePlanner, services: ServicesFor,
                       response: Response) -> dict[str, Any]:
    """Plans the programme now (a regency takes well under a second) and keeps the result as a
    preview: its sessions (days, venue, resource persons, cooperatives) with why each holds whom,
    the figures (sessions against their lower bound, kecamatan split, sessions mixing kecamatan that
    are not neighbours, the finish) and the cooperatives it could not place. Once a plan is
    published, a preview shows what a re-plan would change. Nothing is published until
    `POST /api/v1/programmes/{id}/plan` names this preview."""
    preview = await services.call("scheduling", "preview_plan", programme_id=str(programme_id))
    response.headers["Location"] = f"{router.prefix.format(programme_id=programme_id)}/{preview['id']}"
    return preview


@router.get("/{preview_id}", response_model=PlanPreviewOut, summary="A plan preview")
async def get_plan_preview(programme_id: uuid.UUID, preview_id: uuid.UUID, caller: ProgrammeReader,
                           services: ServicesFor) -> dict[str, Any]:
    return await services.call("scheduling", "get_plan_preview", programme_id=str(programme_id),
                               preview_id=str(preview_id))
