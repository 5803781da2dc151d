"""The event catalogue: every event type, its payload schema, who produces it and who consumes it.

The catalogue is the single source for the broker topology (every consumer queue is declared from
it at setup), for validation on both ends, and for ``docs/events.md``. Adding an event means adding
a payload model in :mod:`.events` and a spec here; nothing else needs to know the list.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

from pydantic import BaseModel

from . import events
from .errors import ContractViolation


@dataclass(frozen=True)
class Subscription:
    """One consumer of an event: a service and the entrypoint method that handles it."""

    service: str
    method: str


@dataclass(frozen=True)
class EventSpec:
    type: str
    version: int
    producer: str
    payload_model: type[BaseModel]
    description: str
    consumers: tuple[Subscription, ...] = field(default_factory=tuple)
    # Events of one aggregate (e.g. one participant) are published in the order they were committed.
    ordered_by: str | None = None


class EventCatalogue:
    def __init__(self, specs: list[EventSpec] | None = None) -> None:
        self._specs: dict[tuple[str, int], EventSpec] = {}
        for spec in specs or []:
            self.register(spec)

    def register(self, spec: EventSpec) -> None:
        key = (spec.type, spec.version)
        if key in self._specs and self._specs[key] != spec:
            raise ValueError(f"event {spec.type} v{spec.version} is already catalogued differently")
        self._specs[key] = spec

    def spec(self, event_type: str, version: int | None = None) -> EventSpec:
        if version is None:
            version = self.latest_version(event_type)
        try:
            return self._specs[(event_type, version)]
        except KeyError:
            raise ContractViolation(f"event {event_type} v{version} is not in the catalogue") from None

    def latest_version(self, event_type: str) -> int:
        versions = [v for (t, v) in self._specs if t == event_type]
        if not versions:
            raise ContractViolation(f"event {event_type} is not in the catalogue")
        return max(versions)

    def __iter__(self) -> Iterator[EventSpec]:
        return iter(sorted(self._specs.values(), key=lambda s: (s.producer, s.type, s.version)))

    def event_types(self) -> list[str]:
        return sorted({t for (t, _) in self._specs})

    def subscriptions(self) -> list[tuple[str, str, Subscription]]:
        """(producer, event type, consumer) for every consumer queue; one queue serves all versions."""
        seen: dict[tuple[str, str, Subscription], None] = {}
        for spec in self:
            for consumer in spec.consumers:
                seen[(spec.producer, spec.type, consumer)] = None
        return list(seen)

    def subscription_of(self, event_type: str, service: str, method: str) -> tuple[str, Subscription]:
        """The producer and subscription for a consumer entrypoint; refuses one the catalogue lacks."""
        for producer, etype, sub in self.subscriptions():
            if etype == event_type and sub.service == service and sub.method == method:
                return producer, sub
        raise ContractViolation(
            f"{service}.{method} consumes {event_type} but the catalogue does not list it as a consumer"
        )


CATALOGUE = EventCatalogue(
    [
        EventSpec(
            type="participant.registered",
            version=1,
            producer="registration",
            payload_model=events.ParticipantRegisteredV1,
            description=(
                "A participant (a board member or supervisor of a cooperative) was registered. "
                "Carries no NIK: consumers that need identity ask registration."
            ),
            consumers=(
                Subscription("scheduling", "handle_participant_registered"),
                Subscription("certificates", "handle_participant_registered"),
            ),
            ordered_by="participant_id",
        ),
        EventSpec(
            type="participant_import.requested",
            version=1,
            producer="registration",
            payload_model=events.ParticipantImportRequestedV1,
            description=(
                "A bulk registration was accepted as a job. Registration consumes its own event: "
                "the outbox and the reliable consumer make the job survive crashes and run once."
            ),
            consumers=(Subscription("registration", "handle_participant_import_requested"),),
        ),
    ]
)
