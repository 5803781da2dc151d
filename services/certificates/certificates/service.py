"""The certificates service: issued once, signed, verifiable. Thin: names, dependencies and entrypoints."""
from __future__ import annotations

from bimtek_shared.contracts.errors import DomainError
from bimtek_shared.contracts.envelope import EventEnvelope
from nameko.dependency_providers import Config

from bimtek_shared.nameko_ext import CallerProvider, CpuPool, Database, Observability, event_consumer, periodic, rpc

from .adapters.orm import metadata
from .service_layer import completions, downloads, handlers, issuing, places, progress, training
from .service_layer.unit_of_work import CertificatesUnitOfWork


class CertificatesService:
    name = "certificates"

    uow = Database(metadata, CertificatesUnitOfWork)
    caller = CallerProvider()
    observability = Observability()
    cpu = CpuPool()  # certificate PDFs, off the eventlet hub
    config = Config()

    @event_consumer("participant.registered")
    def handle_participant_registered(self, events: list[EventEnvelope]) -> int:
        return handlers.record_roster_entries(
            self.uow, events, consumer="certificates.handle_participant_registered"
        )

    @event_consumer("participants.imported")
    def handle_participants_imported(self, events: list[EventEnvelope]) -> int:
        return handlers.record_imported_roster_entries(
            self.uow, events, consumer="certificates.handle_participants_imported"
        )

    @event_consumer("participant.updated")
    def handle_participant_updated(self, events: list[EventEnvelope]) -> int:
        return handlers.record_roster_changes(self.uow, events, consumer="certificates.handle_participant_updated")

    @event_consumer("participant.withdrawn")
    def handle_participant_withdrawn(self, events: list[EventEnvelope]) -> int:
        return handlers.record_roster_changes(self.uow, events, consumer="certificates.handle_participant_withdrawn")

    @event_consumer("participant.erased")
    def handle_participant_erased(self, events: list[EventEnvelope]) -> int:
        return handlers.record_roster_changes(self.uow, events, consumer="certificates.handle_participant_erased")

    # The cooperative's and its regions' names, which certificates print (service_layer/places.py).
    @event_consumer("cooperative.registered")
    def handle_cooperative_registered(self, events: list[EventEnvelope]) -> int:
        return places.record_cooperatives(self.uow, events, consumer="certificates.handle_cooperative_registered")

    @event_consumer("cooperative.updated")
    def handle_cooperative_updated(self, events: list[EventEnvelope]) -> int:
        return places.record_cooperatives(self.uow, events, consumer="certificates.handle_cooperative_updated")

    # What scheduling publishes: the attendance rule, the sessions' days and venues, each participant's session.
    @event_consumer("programme.published")
    def handle_programme_published(self, events: list[EventEnvelope]) -> int:
        return training.record_programmes(self.uow, events, consumer="certificates.handle_programme_published")

    @event_consumer("session.scheduled")
    def handle_session_scheduled(self, events: list[EventEnvelope]) -> int:
        return training.record_sessions(self.uow, events, consumer="certificates.handle_session_scheduled")

    @event_consumer("session.rescheduled")
    def handle_session_rescheduled(self, events: list[EventEnvelope]) -> int:
        return training.record_sessions(self.uow, events, consumer="certificates.handle_session_rescheduled")

    @event_consumer("participants.assigned")
    def handle_participants_assigned(self, events: list[EventEnvelope]) -> int:
        return training.record_seats(self.uow, events, consumer="certificates.handle_participants_assigned")

    # What scheduling decides about attendance: who completed a programme, for their certificate.
    @event_consumer("attendance.recorded")
    def handle_attendance_recorded(self, events: list[EventEnvelope]) -> int:
        return completions.record_attendance(self.uow, events, consumer="certificates.handle_attendance_recorded")

    @event_consumer("session.closed")
    def handle_session_closed(self, events: list[EventEnvelope]) -> int:
        return completions.record_closed_sessions(self.uow, events, consumer="certificates.handle_session_closed")

    @event_consumer("participant.completed")
    def handle_participant_completed(self, events: list[EventEnvelope]) -> int:
        return completions.record_completions(self.uow, events,
                                              consumer="certificates.handle_participant_completed")

    # Certificates: the public verification (no caller: anyone holding the address), and staff's view.
    @rpc(expected_exceptions=DomainError)
    def verify_certificate(self, public_id: str) -> dict:
        return issuing.verify_public(self.uow, public_id)

    @rpc
    def certificate_keys(self) -> dict:
        return issuing.certificate_keys(self.uow)

    @rpc(expected_exceptions=DomainError)
    def get_certificate(self, certificate_id: str) -> dict:
        return issuing.get_certificate(self.uow, self.caller, certificate_id)

    @rpc(expected_exceptions=DomainError)
    def revoke_certificate(self, certificate_id: str, reason: str) -> dict:
        return issuing.revoke(self.uow, self.caller, certificate_id, reason)

    @rpc(expected_exceptions=DomainError)
    def list_certificate_records(self, query: dict) -> dict:
        return issuing.list_certificates_page(self.uow, self.caller, query)

    # Certificates as PDFs, rendered on demand in the CPU pool (service_layer/downloads.py).
    @rpc(expected_exceptions=DomainError)
    def list_certificates(self, query: dict) -> dict:
        return downloads.list_certificates(self.uow, self.caller, query)

    @rpc(expected_exceptions=DomainError)
    def render_certificates(self, certificate_ids: list[str]) -> dict:
        return downloads.render_certificate_files(self.uow, self.caller, self.cpu.run, self._signatories(),
                                                  certificate_ids)

    @rpc(expected_exceptions=DomainError)
    def render_session_certificates(self, session_id: str) -> dict:
        return downloads.render_session_file(self.uow, self.caller, self.cpu.run, self._signatories(), session_id)

    # Training progress per regency and kecamatan, and the same figures as gauges for Prometheus.
    @rpc(expected_exceptions=DomainError)
    def get_progress(self, regency: str | None = None) -> dict:
        return progress.get_progress(self.uow, self.caller, regency)

    @periodic("PROGRESS_REFRESH_SECONDS", 15)
    def refresh_progress_gauges(self) -> None:
        progress.refresh_progress_gauges(self.uow)

    def _signatories(self) -> dict:
        return downloads.parse_signatories(self.config.get("CERTIFICATE_SIGNATORIES"))
