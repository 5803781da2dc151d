from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from bimtek_shared.contracts.jobs import JobStatus, JobView


class JobErrorOut(BaseModel):
    item: int = Field(description="1-based number of the row that was refused (in an import file: the "
                                  "spreadsheet's row number, the heading being row 1)")
    column: str | None = Field(default=None, description="The column (heading) of an import file at fault")
    code: str
    message: str = Field(description="Why, in the caller's language")
    params: dict[str, Any] = Field(default_factory=dict)


class JobOut(JobView):
    """A job as services report it, with its progress and its errors explained."""

    progress: float = Field(description="Share of items handled, 0.0 to 1.0")
    errors: list[JobErrorOut] = Field(default_factory=list)  # type: ignore[assignment]


class JobSummaryOut(BaseModel):
    """A job in a list: where it stands, without its errors."""

    id: uuid.UUID
    kind: str
    regency: str
    status: JobStatus
    total: int
    done: int
    failed: int
    progress: float = Field(description="Share of items handled, 0.0 to 1.0")
    created_at: datetime
    finished_at: datetime | None = None
