"""The certificates service: issued once, signed, verifiable. Thin: names, dependencies and entrypoints."""
from __future__ import annotations

from bimtek_shared.contracts.errors import DomainError
from bimtek_shared.contracts.envelope import EventEnvelope
from bimtek_shared.nameko_ext import CallerProvider, Database, Observability, event_consumer, rpc

from .adapters.orm import metadata
from .service_layer import handlers
from .service_layer.unit_of_work import CertificatesUnitOfWork


class CertificatesService:
    name = "certificates"

    uow = Database(metadata, CertificatesUnitOfWork)
    caller = CallerProvider()
    observability = Observability()

    @event_consumer("participant.registered")
    def handle_participant_registered(self, events: list[EventEnvelope]) -> int:
        return handlers.record_roster_entries(
            self.uow, events, consumer="certificates.handle_participant_registered"
        )

    @rpc(expected_exceptions=DomainError)
    def get_roster_entry(self, participant_id: str) -> dict:
        return handlers.get_roster_entry(self.uow, self.caller, participant_id)
