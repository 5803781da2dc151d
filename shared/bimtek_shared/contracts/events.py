"""Payload schemas of the catalogued events, one model per (type, version).

Rules for evolving them (also in docs/events.md): adding an optional field is a compatible change
within a version; renaming, removing or retyping a field, or making one required, is a new version
(``...V2``) published beside the old one until every consumer reads the new one.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ParticipantRegisteredV1(Payload):
    participant_id: uuid.UUID
    participant_code: str = Field(min_length=4, max_length=16)
    full_name: str = Field(min_length=1, max_length=200)
    sex: Literal["L", "P"]
    position_group: Literal["pengurus", "pengawas"]
    position: str = Field(min_length=1, max_length=80)
    cooperative_id: uuid.UUID | None = None
    registered_at: datetime


class ParticipantImportRequestedV1(Payload):
    job_id: uuid.UUID
    total: int = Field(ge=1)
