"""The registration service: who takes part. Thin: names, dependencies and entrypoints only."""
from __future__ import annotations

from bimtek_shared.contracts.errors import DomainError
from bimtek_shared.contracts.envelope import EventEnvelope
from bimtek_shared.nameko_ext import CallerProvider, Database, Observability, event_consumer, rpc

from .adapters.orm import metadata
from .service_layer import handlers
from .service_layer.commands import RegisterParticipant, StartParticipantImport, parse_command
from .service_layer.unit_of_work import RegistrationUnitOfWork


class RegistrationService:
    name = "registration"

    uow = Database(metadata, RegistrationUnitOfWork)
    caller = CallerProvider()
    observability = Observability()

    @rpc(expected_exceptions=DomainError)
    def register_participant(self, participant: dict) -> dict:
        return handlers.register_participant(
            self.uow, self.caller, parse_command(RegisterParticipant, participant)
        )

    @rpc(expected_exceptions=DomainError)
    def get_participant(self, participant_id: str) -> dict:
        return handlers.get_participant(self.uow, self.caller, participant_id)

    @rpc(expected_exceptions=DomainError)
    def start_participant_import(self, regency: str, rows: list[dict]) -> dict:
        return handlers.start_participant_import(
            self.uow, self.caller, parse_command(StartParticipantImport, {"regency": regency, "rows": rows})
        )

    @rpc(expected_exceptions=DomainError)
    def get_participant_import(self, job_id: str) -> dict:
        return handlers.get_participant_import(self.uow, self.caller, job_id)

    # One import at a time per worker: each is long, and runs in many transactions of its own.
    @event_consumer("participant_import.requested", batch_size=1)
    def handle_participant_import_requested(self, events: list[EventEnvelope]) -> int:
        return sum(handlers.run_participant_import(self.uow, event) for event in events)
