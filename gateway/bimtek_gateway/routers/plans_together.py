"""Plans of several programmes together: a province plans all its regencies in one run, and
publishes them in one transaction."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from ..dependencies import ProgrammePlanner, ServicesFor, Settings
from ..schemas.plans import PlanPreviewsOut, PlanTogetherIn, PublishedPlansOut, PublishTogetherIn

router = APIRouter(prefix="/api/v1", tags=["plans"])
NAMED_NOT_FOUND = {404: {"description": "A programme or preview named that the caller may not see"}}


@router.post("/plan-previews", status_code=status.HTTP_201_CREATED, response_model=PlanPreviewsOut,
             responses=NAMED_NOT_FOUND, summary="Preview the plans of several programmes together")
async def preview_plans(body: PlanTogetherIn, caller: ProgrammePlanner, services: ServicesFor,
                        settings: Settings) -> dict[str, Any]:
    """Plans several programmes (one per regency: a province administrator's whole province) in one
    run, and keeps a preview of each. The province's resource persons are shared, so their days are
    decided for every regency at once; one regency after another would give the first regencies
    the best days. Each preview is an ordinary one (`GET /api/v1/programmes/{id}/plan-previews/{preview_id}`
    shows its sessions), to publish alone or with the others through `POST /api/v1/plan-publications`.
    A regency user may name only their own regency's programme; a programme outside the caller's
    regency answers 404 `programme_not_found`, and a programme or regency named twice 422
    `plan_programmes_repeated`."""
    return await services.waiting(settings.plan_together_timeout_seconds).call(
        "scheduling", "preview_plans", command={"programme_ids": [str(pid) for pid in body.programme_ids]})


@router.post("/plan-publications", response_model=PublishedPlansOut, responses=NAMED_NOT_FOUND,
             summary="Publish the previews of several programmes together")
async def publish_plans(body: PublishTogetherIn, caller: ProgrammePlanner, services: ServicesFor,
                        settings: Settings) -> dict[str, Any]:
    """Publishes every named preview in one transaction, or none: 409 `plan_preview_outdated` if
    anything one of them was made from changed since (preview again), 409
    `resource_person_double_booked` if another plan took one of their resource persons' days
    meanwhile. Previews already published are answered again, so a retry publishes nothing twice.
    Both wait up to PLAN_TOGETHER_TIMEOUT_SECONDS (45 s) for scheduling; past that, 504, and a
    retry of the publication answers what the first one published (run twice, it publishes once).
    The events are those of publishing each programme alone."""
    return await services.waiting(settings.plan_together_timeout_seconds).call(
        "scheduling", "publish_plans", command={"preview_ids": [str(pid) for pid in body.preview_ids]})
