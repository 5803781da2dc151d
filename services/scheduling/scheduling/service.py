"""The scheduling service: phased sessions and attendance. Thin: names, dependencies and entrypoints."""
from __future__ import annotations

from bimtek_shared.contracts.errors import DomainError
from bimtek_shared.contracts.envelope import EventEnvelope
from bimtek_shared.nameko_ext import CallerProvider, Database, Observability, event_consumer, rpc

from .adapters.orm import metadata
from .service_layer import handlers
from .service_layer.unit_of_work import SchedulingUnitOfWork


class SchedulingService:
    name = "scheduling"

    uow = Database(metadata, SchedulingUnitOfWork)
    caller = CallerProvider()
    observability = Observability()

    @event_consumer("participant.registered")
    def handle_participant_registered(self, events: list[EventEnvelope]) -> int:
        return handlers.record_registered_participants(
            self.uow, events, consumer="scheduling.handle_participant_registered"
        )

    @rpc(expected_exceptions=DomainError)
    def get_participant_status(self, participant_id: str) -> dict:
        return handlers.get_participant_status(self.uow, self.caller, participant_id)
