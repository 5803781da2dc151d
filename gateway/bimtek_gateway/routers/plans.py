"""A programme's published plan: read it, publish a preview, re-plan it now."""
from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter

from ..dependencies import ProgrammePlanner, ProgrammeReader, ServicesFor
from ..schemas.plans import PublicationIn, PublishedPlanOut, ReplannedPlanOut

router = APIRouter(prefix="/api/v1/programmes/{programme_id}/plan", tags=["plans"])


@router.get("", response_model=PublishedPlanOut, summary="The published plan")
async def get_plan(programme_id: uuid.UUID, caller: ProgrammeReader, services: ServicesFor) -> dict[str, Any]:
    """The figures as published and the sessions as they stand now (re-plans change them in place).
    404 `plan_not_found` until a preview is published."""
    return await services.call("scheduling", "get_plan", programme_id=str(programme_id))


@router.post("", response_model=PublishedPlanOut, summary="Publish a preview")
async def publish_plan(programme_id: uuid.UUID, body: PublicationIn, caller: ProgrammePlanner,
                       services: ServicesFor) -> dict[str, Any]:
    """Publishes exactly the preview named, if nothing it was made from changed since (409
    `plan_preview_outdated` otherwise: preview again). Resource persons are booked province-wide:
    if another regency's plan took one of their days meanwhile, 409 `resource_person_double_booked`.
    Participants learn their session from then on; events `programme.published`,
    `session.scheduled` and `participants.assigned` follow. After publication, late registrations,
    withdrawals, new cooperatives and lost venue days re-plan on their own, moving only what they touch."""
    return await services.call("scheduling", "publish_plan", programme_id=str(programme_id),
                               preview_id=str(body.preview_id))


@router.post("/revisions", response_model=ReplannedPlanOut, summary="Re-plan now")
async def replan(programme_id: uuid.UUID, caller: ProgrammePlanner, services: ServicesFor) -> dict[str, Any]:
    """Re-plans the published plan at once instead of waiting for the automatic re-plan: locked
    sessions and manual moves are kept, only what changed moves. A new revision is published only if
    something changed (`changes` says what)."""
    return await services.call("scheduling", "replan", programme_id=str(programme_id))
