"""The certificates service: issued once, signed, verifiable. Thin: names, dependencies and entrypoints."""
from __future__ import annotations

from bimtek_shared.contracts.errors import DomainError
from bimtek_shared.contracts.envelope import EventEnvelope
from bimtek_shared.nameko_ext import CallerProvider, Database, Observability, event_consumer, rpc

from .adapters.orm import metadata
from .service_layer import completions, handlers, training
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

    # What scheduling publishes: the attendance rule, the sessions' days, each participant's session.
    @event_consumer("programme.published")
    def handle_programme_published(self, events: list[EventEnvelope]) -> int:
        return training.record_programmes(self.uow, events, consumer="certificates.handle_programme_published")

    @event_consumer("session.scheduled")
    def handle_session_scheduled(self, events: list[EventEnvelope]) -> int:
        return training.record_sessions(self.uow, events, consumer="certificates.handle_session_scheduled")

    @event_consumer("session.rescheduled")
    def handle_session_rescheduled(self, events: list[EventEnvelope]) -> int:
        return training.record_sessions(self.uow, events, consumer="certificates.handle_session_rescheduled")

    @event_consumer("participant.assigned")
    def handle_participant_assigned(self, events: list[EventEnvelope]) -> int:
        return training.record_seats(self.uow, events, consumer="certificates.handle_participant_assigned")

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

    @rpc(expected_exceptions=DomainError)
    def get_roster_entry(self, participant_id: str) -> dict:
        return handlers.get_roster_entry(self.uow, self.caller, participant_id)
