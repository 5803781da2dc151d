"""The registration service: who takes part. Thin: names, dependencies and entrypoints only."""
from __future__ import annotations

from nameko.dependency_providers import Config

from bimtek_shared.contracts.errors import DomainError
from bimtek_shared.contracts.envelope import EventEnvelope
from bimtek_shared.nameko_ext import CallerProvider, CpuPool, Database, Observability, event_consumer, periodic, rpc

from .adapters.orm import metadata
from .service_layer import cooperatives, file_imports, handlers, participant_progress, progress, regions
from .service_layer.commands import (
    AuthenticateParticipant, ListAuditLog, ListParticipantImports, ListParticipants, ParticipantChanges,
    RegisterParticipant, Replacement, RevealNik, StartParticipantImport, WithdrawParticipant, parse_command,
)
from .service_layer.commands import (
    CooperativeChanges, CooperativeStatistics, ListCooperatives, RegisterCooperative,
)
from .service_layer.commands import StartFileImport
from .service_layer.unit_of_work import RegistrationUnitOfWork


class RegistrationService:
    name = "registration"

    uow = Database(metadata, RegistrationUnitOfWork)
    caller = CallerProvider()
    observability = Observability()
    config = Config()
    cpu = CpuPool()  # reading and checking import files, off the eventlet hub

    @rpc(expected_exceptions=DomainError)
    def register_participant(self, participant: dict) -> dict:
        return handlers.register_participant(
            self.uow, self.caller, parse_command(RegisterParticipant, participant)
        )

    @rpc(expected_exceptions=DomainError)
    def get_participant(self, participant_id: str) -> dict:
        return handlers.get_participant(self.uow, self.caller, participant_id)

    @rpc(expected_exceptions=DomainError)
    def list_participants(self, query: dict) -> dict:
        return handlers.list_participants(self.uow, self.caller, parse_command(ListParticipants, query))

    # A participant's life, and their personal data (UU PDP): every one of these is audited.
    @rpc(expected_exceptions=DomainError)
    def update_participant(self, participant_id: str, changes: dict) -> dict:
        return handlers.update_participant(self.uow, self.caller, participant_id,
                                           parse_command(ParticipantChanges, changes))

    @rpc(expected_exceptions=DomainError)
    def withdraw_participant(self, participant_id: str, reason: str) -> dict:
        return handlers.withdraw_participant(self.uow, self.caller, participant_id,
                                             parse_command(WithdrawParticipant, {"reason": reason}))

    @rpc(expected_exceptions=DomainError)
    def substitute_participant(self, participant_id: str, replacement: dict) -> dict:
        return handlers.substitute_participant(self.uow, self.caller, participant_id,
                                               parse_command(Replacement, replacement))

    @rpc(expected_exceptions=DomainError)
    def reveal_participant_nik(self, participant_id: str, purpose: str) -> dict:
        return handlers.reveal_participant_nik(self.uow, self.caller, participant_id,
                                               parse_command(RevealNik, {"purpose": purpose}))

    @rpc(expected_exceptions=DomainError)
    def export_participant_data(self, participant_id: str) -> dict:
        return handlers.export_participant_data(self.uow, self.caller, participant_id)

    @rpc(expected_exceptions=DomainError)
    def erase_participant(self, participant_id: str) -> dict:
        return handlers.erase_participant(self.uow, self.caller, participant_id)

    @rpc(expected_exceptions=DomainError)
    def list_audit_log(self, query: dict) -> dict:
        return handlers.list_audit_log(self.uow, self.caller, parse_command(ListAuditLog, query))

    # No caller by design: the gateway asks this before anyone is signed in (see the use case).
    @rpc(expected_exceptions=DomainError)
    def authenticate_participant(self, participant_code: str, birth_date: str) -> dict:
        return handlers.authenticate_participant(
            self.uow,
            parse_command(AuthenticateParticipant, {"participant_code": participant_code, "birth_date": birth_date}),
        )

    @rpc(expected_exceptions=DomainError)
    def start_participant_import(self, regency: str, rows: list[dict]) -> dict:
        return handlers.start_participant_import(
            self.uow, self.caller, parse_command(StartParticipantImport, {"regency": regency, "rows": rows})
        )

    @rpc(expected_exceptions=DomainError)
    def start_participant_file_import(self, upload: dict) -> dict:
        return file_imports.start_file_import(self.uow, self.caller, parse_command(StartFileImport, upload),
                                              self.config["PROVINCE_CODE"])

    @rpc(expected_exceptions=DomainError)
    def participant_import_template(self, file_format: str) -> dict:
        return file_imports.template(self.caller, file_format)

    @rpc(expected_exceptions=DomainError)
    def get_participant_import(self, job_id: str) -> dict:
        return handlers.get_participant_import(self.uow, self.caller, job_id)

    @rpc(expected_exceptions=DomainError)
    def list_participant_imports(self, query: dict) -> dict:
        return handlers.list_participant_imports(self.uow, self.caller, parse_command(ListParticipantImports, query))

    # Region reference data: province-wide names and codes, for any signed-in caller.
    @rpc(expected_exceptions=DomainError)
    def list_regencies(self) -> dict:
        return regions.list_regencies(self.uow, self.caller, self.config["PROVINCE_CODE"])

    @rpc(expected_exceptions=DomainError)
    def list_districts(self, regency_code: str) -> dict:
        return regions.list_districts(self.uow, self.caller, regency_code)

    @rpc(expected_exceptions=DomainError)
    def list_villages(self, district_code: str) -> dict:
        return regions.list_villages(self.uow, self.caller, district_code)

    # Cooperatives: writers register and change them; readers (and a cooperative's own operator) see them.
    @rpc(expected_exceptions=DomainError)
    def register_cooperative(self, cooperative: dict) -> dict:
        return cooperatives.register_cooperative(self.uow, self.caller, parse_command(RegisterCooperative, cooperative))

    @rpc(expected_exceptions=DomainError)
    def update_cooperative(self, cooperative_id: str, changes: dict) -> dict:
        return cooperatives.update_cooperative(self.uow, self.caller, cooperative_id,
                                               parse_command(CooperativeChanges, changes))

    @rpc(expected_exceptions=DomainError)
    def get_cooperative(self, cooperative_id: str) -> dict:
        return cooperatives.get_cooperative(self.uow, self.caller, cooperative_id)

    @rpc(expected_exceptions=DomainError)
    def list_cooperatives(self, query: dict) -> dict:
        return cooperatives.list_cooperatives(self.uow, self.caller, parse_command(ListCooperatives, query))

    @rpc(expected_exceptions=DomainError)
    def cooperative_statistics(self, query: dict) -> dict:
        return cooperatives.cooperative_statistics(self.uow, self.caller, parse_command(CooperativeStatistics, query))

    # Training progress per regency and kecamatan, and the same figures as gauges for Prometheus.
    @rpc(expected_exceptions=DomainError)
    def get_progress(self, regency: str | None = None) -> dict:
        return progress.get_progress(self.uow, self.caller, regency, self.config["PROVINCE_CODE"])

    @periodic("PROGRESS_REFRESH_SECONDS", 15)
    def refresh_progress_gauges(self) -> None:
        progress.refresh_progress_gauges(self.uow, self.config["PROVINCE_CODE"])

    # One import at a time per worker: each is long, and runs in many transactions of its own.
    @event_consumer("participant_import.requested", batch_size=1)
    def handle_participant_import_requested(self, events: list[EventEnvelope]) -> int:
        return sum(file_imports.run_import(self.uow, self.cpu.run, event) for event in events)

    # A participant's progress as scheduling and certificates report it: read with the participant.
    @event_consumer("session.scheduled")
    def handle_session_scheduled(self, events: list[EventEnvelope]) -> int:
        return participant_progress.record_sessions(self.uow, events, consumer="registration.handle_session_scheduled")

    @event_consumer("session.rescheduled")
    def handle_session_rescheduled(self, events: list[EventEnvelope]) -> int:
        return participant_progress.record_sessions(self.uow, events,
                                                    consumer="registration.handle_session_rescheduled")

    @event_consumer("participants.assigned")
    def handle_participants_assigned(self, events: list[EventEnvelope]) -> int:
        return participant_progress.record_seats(self.uow, events, consumer="registration.handle_participants_assigned")

    @event_consumer("participants.unassigned")
    def handle_participants_unassigned(self, events: list[EventEnvelope]) -> int:
        return participant_progress.record_seats(self.uow, events,
                                                 consumer="registration.handle_participants_unassigned")

    @event_consumer("certificate.issued")
    def handle_certificate_issued(self, events: list[EventEnvelope]) -> int:
        return participant_progress.record_certificates(self.uow, events,
                                                        consumer="registration.handle_certificate_issued")

    @event_consumer("certificate.reissued")
    def handle_certificate_reissued(self, events: list[EventEnvelope]) -> int:
        return participant_progress.record_certificates(self.uow, events,
                                                        consumer="registration.handle_certificate_reissued")

    @event_consumer("certificate.revoked")
    def handle_certificate_revoked(self, events: list[EventEnvelope]) -> int:
        return participant_progress.record_certificates(self.uow, events,
                                                        consumer="registration.handle_certificate_revoked")
