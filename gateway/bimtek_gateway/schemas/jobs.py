from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from bimtek_shared.contracts.jobs import JobView


class JobErrorOut(BaseModel):
    item: int = Field(description="1-based number of the row that was refused")
    code: str
    message: str = Field(description="Why, in the caller's language")
    params: dict[str, Any] = Field(default_factory=dict)


class JobOut(JobView):
    """A job as services report it, with its progress and its errors explained."""

    progress: float = Field(description="Share of items handled, 0.0 to 1.0")
    errors: list[JobErrorOut] = Field(default_factory=list)  # type: ignore[assignment]
