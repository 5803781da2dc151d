"""Bulk registration: accepted at once as a job (202), registered in the background, polled for progress."""
from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from bimtek_shared.contracts.envelope import REGENCY_CODE_PATTERN
from bimtek_shared.contracts.errors import message_for

from ..dependencies import Registrar, ServicesFor, target_regency
from ..problems import language_of
from ..schemas.jobs import JobOut
from ..schemas.participants import ParticipantIn

ROW_EXAMPLE = ParticipantIn.model_config["json_schema_extra"]["examples"][0]

MAX_ROWS = 20_000
router = APIRouter(prefix="/api/v1/participant-imports", tags=["participants"])


class ParticipantImportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    regency: str | None = Field(default=None, pattern=REGENCY_CODE_PATTERN,
                                description="Defaults to the caller's own regency")
    rows: list[dict[str, Any]] = Field(
        min_length=1, max_length=MAX_ROWS,
        description="Participants as in POST /api/v1/participants (without regency). Rows are checked one "
                    "by one when the job runs: a bad row is reported in the job's errors, the others go on.",
        examples=[[ROW_EXAMPLE]],
    )


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=JobOut, summary="Register many participants")
async def start_import(body: ParticipantImportIn, caller: Registrar, services: ServicesFor,
                       request: Request, response: Response) -> dict[str, Any]:
    regency = target_regency(body.regency, caller)
    job = await services.call("registration", "start_participant_import", regency=regency, rows=body.rows)
    response.headers["Location"] = f"{router.prefix}/{job['id']}"
    return present_job(job, language_of(request))


@router.get("/{job_id}", response_model=JobOut, summary="Progress and outcome of a bulk registration")
async def get_import(job_id: uuid.UUID, services: ServicesFor, request: Request) -> dict[str, Any]:
    job = await services.call("registration", "get_participant_import", job_id=str(job_id))
    return present_job(job, language_of(request))


def present_job(job: dict[str, Any], language: str) -> dict[str, Any]:
    handled = job["done"] + job["failed"]
    return {
        **job,
        "progress": round(handled / job["total"], 4) if job["total"] else 1.0,
        "errors": [
            {**error, "message": message_for(error["code"], language, **error.get("params", {}))}
            for error in job["errors"]
        ],
    }
