"""The scheduling service: phased sessions and attendance. Thin: names, dependencies and entrypoints."""
from __future__ import annotations

from bimtek_shared.contracts.errors import DomainError
from bimtek_shared.contracts.envelope import EventEnvelope
from nameko.extensions import DependencyProvider

from bimtek_shared.nameko_ext import CallerProvider, CpuPool, Database, Observability, event_consumer, periodic, rpc

from .adapters.invitation_tokens import InvitationSigner
from .adapters.orm import metadata
from .service_layer import attendance, certificates, handlers, plans, programmes, progress
from .service_layer.commands import (
    ListProgrammes, ListResourcePersons, ListSessions, ListVenues, NewProgramme, NewResourcePerson, NewVenue,
    PlanTogether, ProgrammeChanges, PublishTogether, ResourcePersonChanges, VenueChanges, parse_command,
)
from .service_layer.commands import AttendanceByHand, AttendanceSheetQuery, CheckInScope, CheckInUpload
from .service_layer.unit_of_work import SchedulingUnitOfWork


class InvitationKeys(DependencyProvider):
    """The QR signing key ring (``QR_SIGNING_KEYS``), read once at start-up."""

    def setup(self) -> None:
        self.signer = InvitationSigner.from_config(self.container.config)

    def get_dependency(self, worker_ctx) -> InvitationSigner:
        return self.signer


class SchedulingService:
    name = "scheduling"

    uow = Database(metadata, SchedulingUnitOfWork)
    caller = CallerProvider()
    observability = Observability()
    cpu = CpuPool()  # the planner, signature checks and PDFs, off the eventlet hub
    invitation_keys = InvitationKeys()

    @event_consumer("participant.registered")
    def handle_participant_registered(self, events: list[EventEnvelope]) -> int:
        return handlers.record_registered_participants(
            self.uow, events, consumer="scheduling.handle_participant_registered"
        )

    @event_consumer("participants.imported")
    def handle_participants_imported(self, events: list[EventEnvelope]) -> int:
        return handlers.record_imported_participants(
            self.uow, events, consumer="scheduling.handle_participants_imported"
        )

    @event_consumer("participant.updated")
    def handle_participant_updated(self, events: list[EventEnvelope]) -> int:
        return handlers.record_participant_changes(self.uow, events, consumer="scheduling.handle_participant_updated")

    # Which completion got which certificate (certificates' events), beside its session outcome.
    @event_consumer("certificate.issued")
    def handle_certificate_issued(self, events: list[EventEnvelope]) -> int:
        return certificates.record_certificates(self.uow, events, consumer="scheduling.handle_certificate_issued")

    @event_consumer("certificate.reissued")
    def handle_certificate_reissued(self, events: list[EventEnvelope]) -> int:
        return certificates.record_certificates(self.uow, events, consumer="scheduling.handle_certificate_reissued")

    @event_consumer("certificate.revoked")
    def handle_certificate_revoked(self, events: list[EventEnvelope]) -> int:
        return certificates.record_certificates(self.uow, events, consumer="scheduling.handle_certificate_revoked")

    @event_consumer("participant.withdrawn")
    def handle_participant_withdrawn(self, events: list[EventEnvelope]) -> int:
        return handlers.record_participant_changes(self.uow, events, consumer="scheduling.handle_participant_withdrawn")

    @event_consumer("participant.erased")
    def handle_participant_erased(self, events: list[EventEnvelope]) -> int:
        return handlers.record_participant_changes(self.uow, events, consumer="scheduling.handle_participant_erased")

    @event_consumer("participant.substituted")
    def handle_participant_substituted(self, events: list[EventEnvelope]) -> int:
        return handlers.record_substitutions(self.uow, events, consumer="scheduling.handle_participant_substituted")

    @event_consumer("cooperative.registered")
    def handle_cooperative_registered(self, events: list[EventEnvelope]) -> int:
        return handlers.record_cooperatives(self.uow, events, consumer="scheduling.handle_cooperative_registered")

    @event_consumer("cooperative.updated")
    def handle_cooperative_updated(self, events: list[EventEnvelope]) -> int:
        return handlers.record_cooperatives(self.uow, events, consumer="scheduling.handle_cooperative_updated")

    # Programmes, venues (a regency's) and resource persons (the province's).
    @rpc(expected_exceptions=DomainError)
    def create_programme(self, programme: dict) -> dict:
        return programmes.create_programme(self.uow, self.caller, parse_command(NewProgramme, programme))

    @rpc(expected_exceptions=DomainError)
    def update_programme(self, programme_id: str, changes: dict) -> dict:
        return programmes.update_programme(self.uow, self.caller, programme_id,
                                           parse_command(ProgrammeChanges, changes))

    @rpc(expected_exceptions=DomainError)
    def get_programme(self, programme_id: str) -> dict:
        return programmes.get_programme(self.uow, self.caller, programme_id)

    @rpc(expected_exceptions=DomainError)
    def list_programmes(self, query: dict) -> dict:
        return programmes.list_programmes(self.uow, self.caller, parse_command(ListProgrammes, query))

    @rpc(expected_exceptions=DomainError)
    def create_venue(self, venue: dict) -> dict:
        return programmes.create_venue(self.uow, self.caller, parse_command(NewVenue, venue))

    @rpc(expected_exceptions=DomainError)
    def update_venue(self, venue_id: str, changes: dict) -> dict:
        return programmes.update_venue(self.uow, self.caller, venue_id, parse_command(VenueChanges, changes))

    @rpc(expected_exceptions=DomainError)
    def get_venue(self, venue_id: str) -> dict:
        return programmes.get_venue(self.uow, self.caller, venue_id)

    @rpc(expected_exceptions=DomainError)
    def list_venues(self, query: dict) -> dict:
        return programmes.list_venues(self.uow, self.caller, parse_command(ListVenues, query))

    @rpc(expected_exceptions=DomainError)
    def create_resource_person(self, person: dict) -> dict:
        return programmes.create_resource_person(self.uow, self.caller, parse_command(NewResourcePerson, person))

    @rpc(expected_exceptions=DomainError)
    def update_resource_person(self, person_id: str, changes: dict) -> dict:
        return programmes.update_resource_person(self.uow, self.caller, person_id,
                                                 parse_command(ResourcePersonChanges, changes))

    @rpc(expected_exceptions=DomainError)
    def get_resource_person(self, person_id: str) -> dict:
        return programmes.get_resource_person(self.uow, self.caller, person_id)

    @rpc(expected_exceptions=DomainError)
    def list_resource_persons(self, query: dict) -> dict:
        return programmes.list_resource_persons(self.uow, self.caller, parse_command(ListResourcePersons, query))

    # Plans: preview, publish, re-plan; manual moves and locks; sessions.
    @rpc(expected_exceptions=DomainError)
    def preview_plan(self, programme_id: str) -> dict:
        return plans.preview_plan(self.uow, self.caller, self.cpu.run, programme_id)

    @rpc(expected_exceptions=DomainError)
    def get_plan_preview(self, programme_id: str, preview_id: str) -> dict:
        return plans.get_plan_preview(self.uow, self.caller, programme_id, preview_id)

    @rpc(expected_exceptions=DomainError)
    def publish_plan(self, programme_id: str, preview_id: str) -> dict:
        return plans.publish_plan(self.uow, self.caller, programme_id, preview_id)

    @rpc(expected_exceptions=DomainError)
    def preview_plans(self, command: dict) -> dict:
        return plans.preview_plans(self.uow, self.caller, self.cpu.run, parse_command(PlanTogether, command))

    @rpc(expected_exceptions=DomainError)
    def publish_plans(self, command: dict) -> dict:
        return plans.publish_plans(self.uow, self.caller, parse_command(PublishTogether, command))

    @rpc(expected_exceptions=DomainError)
    def replan(self, programme_id: str) -> dict:
        return plans.replan(self.uow, self.caller, self.cpu.run, programme_id)

    @rpc(expected_exceptions=DomainError)
    def get_plan(self, programme_id: str) -> dict:
        return plans.get_plan(self.uow, self.caller, programme_id)

    @rpc(expected_exceptions=DomainError)
    def move_cooperative(self, cooperative_id: str, session_id: str) -> dict:
        return plans.move_cooperative(self.uow, self.caller, self.cpu.run, cooperative_id, session_id)

    @rpc(expected_exceptions=DomainError)
    def lock_session(self, session_id: str) -> dict:
        return plans.set_session_lock(self.uow, self.caller, session_id, locked=True)

    @rpc(expected_exceptions=DomainError)
    def unlock_session(self, session_id: str) -> dict:
        return plans.set_session_lock(self.uow, self.caller, session_id, locked=False)

    @rpc(expected_exceptions=DomainError)
    def list_sessions(self, query: dict) -> dict:
        return plans.list_sessions(self.uow, self.caller, parse_command(ListSessions, query))

    @rpc(expected_exceptions=DomainError)
    def get_session(self, session_id: str) -> dict:
        return plans.get_session(self.uow, self.caller, session_id)

    # One re-plan at a time per worker: each runs the planner and may publish a revision.
    @event_consumer("programme.replan_requested", batch_size=1)
    def handle_replan_requested(self, events: list[EventEnvelope]) -> int:
        return plans.run_requested_replans(self.uow, self.cpu.run, events,
                                           consumer="scheduling.handle_replan_requested")

    # Invitations, check-ins, attendance and closing sessions.
    @rpc(expected_exceptions=DomainError)
    def get_invitation(self, participant_id: str) -> dict:
        return attendance.get_invitation(self.uow, self.caller, self.invitation_keys, participant_id)

    @rpc(expected_exceptions=DomainError)
    def get_invitation_pdf(self, participant_id: str) -> dict:
        return attendance.get_invitation_pdf(self.uow, self.caller, self.invitation_keys, self.cpu.run,
                                             participant_id)

    @rpc(expected_exceptions=DomainError)
    def check_in(self, scope: dict, upload: dict) -> dict:
        return attendance.check_in(self.uow, self.caller, self.cpu.run, self.invitation_keys,
                                   parse_command(CheckInScope, scope), parse_command(CheckInUpload, upload))

    @rpc(expected_exceptions=DomainError)
    def set_attendance(self, session_id: str, participant_id: str, attendance_day: dict) -> dict:
        return attendance.set_attendance(self.uow, self.caller, session_id, participant_id,
                                         parse_command(AttendanceByHand, attendance_day))

    @rpc(expected_exceptions=DomainError)
    def get_attendance(self, session_id: str) -> dict:
        return attendance.get_attendance(self.uow, self.caller, session_id)

    @rpc(expected_exceptions=DomainError)
    def get_attendance_sheet(self, session_id: str, query: dict) -> dict:
        return attendance.get_attendance_sheet(self.uow, self.caller, self.invitation_keys, self.cpu.run, session_id,
                                               parse_command(AttendanceSheetQuery, query))

    @rpc(expected_exceptions=DomainError)
    def close_session(self, session_id: str) -> dict:
        return attendance.close_session(self.uow, self.caller, session_id)

    # Training progress per regency and kecamatan, and the same figures as gauges for Prometheus.
    @rpc(expected_exceptions=DomainError)
    def get_progress(self, regency: str | None = None) -> dict:
        return progress.get_progress(self.uow, self.caller, regency)

    @periodic("SCAN_PURGE_SECONDS", 3600)
    def purge_old_check_in_scans(self) -> None:
        attendance.purge_old_scans(self.uow)

    @periodic("PROGRESS_REFRESH_SECONDS", 15)
    def refresh_progress_gauges(self) -> None:
        progress.refresh_progress_gauges(self.uow)
