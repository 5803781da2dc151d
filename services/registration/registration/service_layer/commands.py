"""What callers send, checked before any rule of the domain runs."""
from __future__ import annotations

import uuid
from datetime import date
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bimtek_shared.contracts.envelope import REGENCY_CODE_PATTERN
from bimtek_shared.contracts.errors import DomainError

T = TypeVar("T", bound=BaseModel)


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RegisterParticipant(Command):
    regency: str = Field(pattern=REGENCY_CODE_PATTERN)
    nik: str = Field(min_length=1, max_length=32)
    full_name: str = Field(min_length=1, max_length=200)
    sex: Literal["L", "P"]
    birth_date: date
    position: str = Field(min_length=1, max_length=40)
    phone: str | None = Field(default=None, max_length=32)
    cooperative_id: uuid.UUID | None = None


def parse_command(model: type[T], data: Any) -> T:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        # Locations and messages only: the input values may be personal data.
        errors = [{"field": ".".join(map(str, e["loc"])), "message": e["msg"]} for e in exc.errors()]
        raise DomainError("validation_failed", {"errors": errors}) from None


MAX_IMPORT_ROWS = 20_000  # a regency's whole roster (Jombang: 2,448) with room to spare


class StartParticipantImport(Command):
    regency: str = Field(pattern=REGENCY_CODE_PATTERN)
    # Rows are checked one by one when the job runs, so one bad row never refuses the rest.
    rows: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_IMPORT_ROWS)
