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
            type="participant.updated",
            version=1,
            producer="registration",
            payload_model=events.ParticipantUpdatedV1,
            description=(
                "An active participant's name, phone, position or cooperative changed, or their NIK, sex and "
                "birth date were corrected together. The payload is the participant as they are now (never the "
                "NIK, phone or birth date); consumers keep the highest `version`."
            ),
            consumers=(
                Subscription("scheduling", "handle_participant_updated"),
                Subscription("certificates", "handle_participant_updated"),
            ),
            ordered_by="participant_id",
        ),
        EventSpec(
            type="participant.withdrawn",
            version=1,
            producer="registration",
            payload_model=events.ParticipantWithdrawnV1,
            description=(
                "A participant left their cooperative's team (kept for history; their position is free again). "
                "The payload is the participant as they are now; consumers keep the highest `version`."
            ),
            consumers=(
                Subscription("scheduling", "handle_participant_withdrawn"),
                Subscription("certificates", "handle_participant_withdrawn"),
            ),
            ordered_by="participant_id",
        ),
        EventSpec(
            type="participant.substituted",
            version=1,
            producer="registration",
            payload_model=events.ParticipantSubstitutedV1,
            description=(
                "One person took another's place in the same cooperative and position. A substitution commits, in "
                "one transaction and in this order: `participant.withdrawn` of the one replaced (reason "
                "`substituted`, `replaced_by` set), `participant.registered` of the replacement, then this link. "
                "Each is complete on its own and travels on its own queue, so a consumer learns of both people "
                "without this event and must not rely on the order in which the three arrive."
            ),
            consumers=(Subscription("scheduling", "handle_participant_substituted"),),
            ordered_by="replaced_participant_id",
        ),
        EventSpec(
            type="participant.erased",
            version=1,
            producer="registration",
            payload_model=events.ParticipantErasedV1,
            description=(
                "A person's data was erased at their request (UU PDP). Every consumer drops what it holds of "
                "their personal data (names, positions) and keeps only ids, regency, cooperative, position "
                "group and times, so counts stay right. It may arrive before the person's earlier events: "
                "keep a tombstone, so that a late `participant.registered` brings nothing back. An issued "
                "certificate stays verifiable by its number and signature, without the erased name."
            ),
            consumers=(
                Subscription("scheduling", "handle_participant_erased"),
                Subscription("certificates", "handle_participant_erased"),
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
                "the outbox and the reliable consumer make the job survive crashes and run once. "
                "A province-wide import file names no regency; its event carries `<province>.00`."
            ),
            consumers=(Subscription("registration", "handle_participant_import_requested"),),
        ),
        EventSpec(
            type="participants.imported",
            version=1,
            producer="registration",
            payload_model=events.ParticipantsImportedV1,
            description=(
                "Participants of one regency were registered by a bulk import: one event per chunk of the "
                "import's rows (up to 5,000 participants) instead of one `participant.registered` each. "
                "Carries what consumers keep of each participant, never a NIK or a participant code. "
                "Consumers apply each event once, as a whole (`apply_once`, keyed by the event)."
            ),
            consumers=(
                Subscription("scheduling", "handle_participants_imported"),
                Subscription("certificates", "handle_participants_imported"),
            ),
        ),
        EventSpec(
            type="cooperative.registered",
            version=1,
            producer="registration",
            payload_model=events.CooperativeRegisteredV1,
            description=(
                "A cooperative (Koperasi Desa/Kelurahan Merah Putih) was registered for one or more villages "
                "of a regency. Carries no contact details. Added within v1, optional (older events lack them): "
                "`village_names`, `district_names` and `regency_name`, the names a certificate prints."
            ),
            consumers=(Subscription("scheduling", "handle_cooperative_registered"),
                       Subscription("certificates", "handle_cooperative_registered")),
            ordered_by="cooperative_id",
        ),
        EventSpec(
            type="cooperative.updated",
            version=1,
            producer="registration",
            payload_model=events.CooperativeUpdatedV1,
            description=(
                "A cooperative's name, villages, legal-entity number or contact changed; the payload is the "
                "cooperative as it is now (contact details left out). Consumers keep the highest `version`. "
                "Added within v1, optional (older events lack them): `village_names`, `district_names` and "
                "`regency_name`."
            ),
            consumers=(Subscription("scheduling", "handle_cooperative_updated"),
                       Subscription("certificates", "handle_cooperative_updated")),
            ordered_by="cooperative_id",
        ),
        EventSpec(
            type="programme.published",
            version=1,
            producer="scheduling",
            payload_model=events.ProgrammePublishedV1,
            description=(
                "A training programme's plan was published, after a preview, or re-published by a re-plan "
                "(`revision` raised). Its sessions follow as `session.scheduled` / `session.rescheduled` and its "
                "participants as `participants.assigned`, in the same transaction."
            ),
            consumers=(Subscription("certificates", "handle_programme_published"),),
            ordered_by="programme_id",
        ),
        EventSpec(
            type="session.scheduled",
            version=1,
            producer="scheduling",
            payload_model=events.SessionScheduledV1,
            description=(
                "A session of a published programme: its days, venue, resource persons and cooperatives (ids), "
                "and how many participants sit in it. Added within v1, optional (older events lack it): "
                "`venue_name`, which certificates print."
            ),
            consumers=(Subscription("certificates", "handle_session_scheduled"),
                       Subscription("registration", "handle_session_scheduled")),
            ordered_by="session_id",
        ),
        EventSpec(
            type="session.rescheduled",
            version=1,
            producer="scheduling",
            payload_model=events.SessionRescheduledV1,
            description=(
                "A re-plan, a manual move or a lost venue day changed a published session (`changed` says what), "
                "or emptied it (`cancelled`). The payload is the session as it is now; consumers keep the highest "
                "`version`. Optional: `venue_name`, as on `session.scheduled`."
            ),
            consumers=(Subscription("certificates", "handle_session_rescheduled"),
                       Subscription("registration", "handle_session_rescheduled")),
            ordered_by="session_id",
        ),
        EventSpec(
            type="participants.assigned",
            version=1,
            producer="scheduling",
            payload_model=events.ParticipantsAssignedV1,
            description=(
                "Participants' sessions in a programme: when a plan is published, every participant, in chunks "
                "of up to 1,000 per event; then, for each re-plan, those it places or moves (never those who "
                "stay). Consumers keep the highest `revision` per participant and programme, so chunks and "
                "revisions may arrive in any order."
            ),
            consumers=(Subscription("certificates", "handle_participants_assigned"),
                       Subscription("registration", "handle_participants_assigned")),
            ordered_by="programme_id",
        ),
        EventSpec(
            type="participants.unassigned",
            version=1,
            producer="scheduling",
            payload_model=events.ParticipantsUnassignedV1,
            description=(
                "Participants a re-plan left without a session in a programme: withdrawn, erased, or their "
                "cooperative no longer in it; in chunks of up to 1,000 per event, with the plan's other events. "
                "Consumers of `participants.assigned` read it as a seat with no session at this `revision`: the "
                "highest revision per participant and programme wins, in whatever order the two arrive."
            ),
            consumers=(Subscription("registration", "handle_participants_unassigned"),),
            ordered_by="programme_id",
        ),
        EventSpec(
            type="programme.replan_requested",
            version=1,
            producer="scheduling",
            payload_model=events.ProgrammeReplanRequestedV1,
            description=(
                "Scheduling consumes its own event: a change that matters to a published programme (a late "
                "registration, a withdrawal, a new cooperative, a venue's or resource person's days) was stored, "
                "so the programme is re-planned once, however many changes arrived meanwhile."
            ),
            consumers=(Subscription("scheduling", "handle_replan_requested"),),
        ),
        EventSpec(
            type="attendance.recorded",
            version=1,
            producer="scheduling",
            payload_model=events.AttendanceRecordedV1,
            description=(
                "Attendance of one session changed: one event per session per check-in upload, listing the days "
                "counted for the first time (a scan uploaded again, or of a day already counted, is in none), "
                "or one day an operator set present or absent by hand, with who did it and why. Ids and days only."
            ),
            consumers=(Subscription("certificates", "handle_attendance_recorded"),),
            ordered_by="session_id",
        ),
        EventSpec(
            type="session.closed",
            version=1,
            producer="scheduling",
            payload_model=events.SessionClosedV1,
            description=(
                "A session was closed by an operator: its attendance is final (check-ins for it are refused from "
                "then on), and its participants who attended at least the programme's `min_attendance_days` follow "
                "as `participant.completed`, in the same transaction. Closing again changes nothing."
            ),
            consumers=(Subscription("certificates", "handle_session_closed"),),
            ordered_by="session_id",
        ),
        EventSpec(
            type="participant.completed",
            version=1,
            producer="scheduling",
            payload_model=events.ParticipantCompletedV1,
            description=(
                "A participant completed a programme: their session closed and they attended enough of its days. "
                "What a certificate states, by ids (certificates keeps names and positions from registration's "
                "events). At most one per participant and programme."
            ),
            consumers=(Subscription("certificates", "handle_participant_completed"),),
            ordered_by="participant_id",
        ),
        EventSpec(
            type="certificate.issued",
            version=1,
            producer="certificates",
            payload_model=events.CertificateIssuedV1,
            description=(
                "A certificate was issued, in the transaction that recorded the participant's completion: exactly "
                "one per participant and programme. Signed with Ed25519 (key id in the verification answer); its "
                "`public_id` is the random part of its public verification address. Scheduling notes the number "
                "beside the participant's session outcome."
            ),
            consumers=(Subscription("scheduling", "handle_certificate_issued"),
                       Subscription("registration", "handle_certificate_issued")),
            ordered_by="participant_id",
        ),
        EventSpec(
            type="certificate.reissued",
            version=1,
            producer="certificates",
            payload_model=events.CertificateReissuedV1,
            description=(
                "A certificate's printed name or position was corrected (`participant.updated`): a new version "
                "with the same number and a new `public_id`; the version it `replaces` is superseded and its "
                "address now points to this one."
            ),
            consumers=(Subscription("scheduling", "handle_certificate_reissued"),
                       Subscription("registration", "handle_certificate_reissued")),
            ordered_by="participant_id",
        ),
        EventSpec(
            type="certificate.revoked",
            version=1,
            producer="certificates",
            payload_model=events.CertificateRevokedV1,
            description=(
                "An authorised officer (regency or province administrator) revoked a certificate; the reason is "
                "kept in the certificate's history and shown on its verification page."
            ),
            consumers=(Subscription("scheduling", "handle_certificate_revoked"),
                       Subscription("registration", "handle_certificate_revoked")),
            ordered_by="participant_id",
        ),
    ]
)
