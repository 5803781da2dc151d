from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from bimtek_shared.contracts.jobs import JobStatus


class JobErrorOut(BaseModel):
    item: int = Field(description="1-based number of the row that was refused")
    code: str
    message: str = Field(description="Why, in the caller's language")
    params: dict[str, Any] = Field(default_factory=dict)


class JobOut(BaseModel):
    id: uuid.UUID
    kind: str
    status: JobStatus
    total: int
    done: int
    failed: int
    progress: float = Field(description="Share of items handled, 0.0 to 1.0")
    errors: list[JobErrorOut]
    result: dict[str, Any] | None
    created_at: datetime
    finished_at: datetime | None
