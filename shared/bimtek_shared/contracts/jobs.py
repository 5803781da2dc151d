"""How every service reports a job, so the gateway renders all of them alike."""
from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel, Field


class JobStatus(str, Enum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"  # finished; individual items may still have failed (see errors)
    FAILED = "failed"  # the job as a whole could not run


class JobError(BaseModel):
    item: int = Field(description="1-based number of the item (e.g. the row) that failed")
    column: str | None = Field(default=None, description="The column (heading) of an import file at fault")
    code: str = Field(description="An error code of the API (see the problem types)")
    params: dict[str, Any] = Field(default_factory=dict)


class JobView(BaseModel):
    id: uuid.UUID
    kind: str
    status: JobStatus
    total: int
    done: int
    failed: int
    errors: list[JobError] = Field(default_factory=list)
    result: dict[str, Any] | None = None
    created_at: datetime
    finished_at: datetime | None = None
