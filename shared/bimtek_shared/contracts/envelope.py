"""The one envelope every event travels in, validated when published and when consumed."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import ContractViolation

REGENCY_CODE_PATTERN = r"^\d{2}\.\d{2}$"
# The levels below a regency (Kemendagri codes): kecamatan "35.17.09", desa/kelurahan "35.17.09.2001".
DISTRICT_CODE_PATTERN = r"^\d{2}\.\d{2}\.\d{2}$"
VILLAGE_CODE_PATTERN = r"^\d{2}\.\d{2}\.\d{2}\.\d{4}$"
EVENT_TYPE_PATTERN = r"^[a-z][a-z_]*(\.[a-z][a-z_]*)+$"


class EventEnvelope(BaseModel):
    """Metadata common to every event; ``payload`` is checked against the catalogue's schema."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: uuid.UUID
    type: str = Field(pattern=EVENT_TYPE_PATTERN, description="Past tense, e.g. participant.registered")
    version: int = Field(ge=1)
    occurred_at: datetime
    regency: str = Field(pattern=REGENCY_CODE_PATTERN, description="Tenant: Kemendagri regency code, e.g. 35.17")
    correlation_id: str = Field(min_length=1, max_length=200)
    payload: dict[str, Any]

    @field_validator("occurred_at")
    @classmethod
    def _must_be_aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("occurred_at must carry a time zone")
        return value

    def to_json(self) -> str:
        return self.model_dump_json()

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def new_event(
    event_type: str,
    payload: dict[str, Any] | BaseModel,
    *,
    regency: str,
    correlation_id: str,
    version: int | None = None,
    event_id: uuid.UUID | None = None,
    occurred_at: datetime | None = None,
) -> EventEnvelope:
    """Build an envelope for a catalogued event, validating its payload (publish-side check)."""
    from .catalogue import CATALOGUE  # late import: the catalogue imports this module's models

    spec = CATALOGUE.spec(event_type, version)
    try:
        if isinstance(payload, spec.payload_model):
            checked = payload.model_dump(mode="json")  # validated when it was made (frozen since)
        else:
            raw = payload.model_dump(mode="json") if isinstance(payload, BaseModel) else payload
            checked = spec.payload_model.model_validate(raw).model_dump(mode="json")
        return EventEnvelope(
            event_id=event_id or uuid.uuid4(),
            type=spec.type,
            version=spec.version,
            occurred_at=occurred_at or datetime.now(timezone.utc),
            regency=regency,
            correlation_id=correlation_id,
            payload=checked,
        )
    except ValidationError as exc:
        raise ContractViolation(f"{event_type}: {_summarise(exc)}") from exc


def parse_event(body: str | bytes | dict[str, Any]) -> EventEnvelope:
    """Parse and validate an event received from the broker (consume-side check)."""
    from .catalogue import CATALOGUE

    try:
        data = json.loads(body) if isinstance(body, (str, bytes)) else body
        envelope = EventEnvelope.model_validate(data)
    except (ValueError, ValidationError) as exc:
        raise ContractViolation(f"invalid envelope: {_summarise(exc)}") from exc
    spec = CATALOGUE.spec(envelope.type, envelope.version)
    try:
        spec.payload_model.model_validate(envelope.payload)
    except ValidationError as exc:
        raise ContractViolation(f"{envelope.type} v{envelope.version}: {_summarise(exc)}") from exc
    return envelope


def _summarise(exc: Exception) -> str:
    # Field locations and messages only: pydantic's default text would echo the input values,
    # which may hold personal data.
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc'])) or '<root>'}: {e['msg']}" for e in exc.errors())
    return type(exc).__name__
