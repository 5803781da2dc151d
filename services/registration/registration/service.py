"""The registration service: who takes part. Thin: names, dependencies and entrypoints only."""
from __future__ import annotations

from nameko.rpc import rpc

from bimtek_shared.nameko_ext import CallerProvider, Database, Observability

from .adapters.orm import metadata
from .service_layer import handlers
from .service_layer.commands import RegisterParticipant, parse_command
from .service_layer.unit_of_work import RegistrationUnitOfWork


class RegistrationService:
    name = "registration"

    uow = Database(metadata, RegistrationUnitOfWork)
    caller = CallerProvider()
    observability = Observability()

    @rpc
    def register_participant(self, participant: dict) -> dict:
        return handlers.register_participant(
            self.uow, self.caller, parse_command(RegisterParticipant, participant)
        )

    @rpc
    def get_participant(self, participant_id: str) -> dict:
        return handlers.get_participant(self.uow, self.caller, participant_id)
