from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bimtek_shared.contracts.envelope import REGENCY_CODE_PATTERN


class DeviceTokenIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={"examples": [{"label": "HP presensi aula kecamatan Diwek", "valid_from": "2027-01-11",
                                         "valid_until": "2027-01-15"}]},
    )

    label: str = Field(min_length=1, max_length=100, description="Which phone this is, for the people managing it")
    regency: str | None = Field(default=None, pattern=REGENCY_CODE_PATTERN,
                                description="Defaults to the caller's own regency")
    venue_id: uuid.UUID | None = None
    session_id: uuid.UUID | None = None
    valid_from: date | None = Field(default=None, description="First day it works (Asia/Jakarta)")
    valid_until: date | None = Field(default=None, description="Last day it works (Asia/Jakarta)")

    @model_validator(mode="after")
    def _limited(self) -> "DeviceTokenIn":
        if not (self.venue_id or self.session_id or self.valid_from or self.valid_until):
            raise ValueError("give at least one of venue_id, session_id, valid_from, valid_until")
        if self.valid_from and self.valid_until and self.valid_from > self.valid_until:
            raise ValueError("valid_from is after valid_until")
        return self


class DeviceTokenOut(BaseModel):
    id: uuid.UUID
    label: str
    regency: str
    venue_id: uuid.UUID | None
    session_id: uuid.UUID | None
    valid_from: date | None
    valid_until: date | None
    issued_by: uuid.UUID
    issued_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None = Field(description="Updated at most every five minutes")


class IssuedDeviceToken(DeviceTokenOut):
    token: str = Field(description="Shown this once: put it on the phone now. Sent as Authorization: Bearer <token>")
