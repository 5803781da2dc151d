"""Use cases of the scheduling service: keeping participants and cooperatives from registration's
events, and a participant's status.

Each consumer stores its change, then (same transaction) requests a re-plan of every published
programme of the regencies it touched (``plans.request_replans_in``): published plans follow late
registrations, withdrawals and new or changed cooperatives on their own."""
from __future__ import annotations

from bimtek_shared.contracts.envelope import EventEnvelope
from bimtek_shared.contracts.events import (
    CooperativeRegisteredV1, CooperativeUpdatedV1, ParticipantErasedV1, ParticipantRegisteredV1,
    ParticipantsImportedV1, ParticipantSubstitutedV1, ParticipantUpdatedV1, ParticipantWithdrawnV1,
)
from bimtek_shared.persistence.unit_of_work import apply_once

from ..domain import cooperatives, model
from . import plans
from .unit_of_work import SchedulingUnitOfWork


def record_registered_participants(uow: SchedulingUnitOfWork, events: list[EventEnvelope], consumer: str) -> int:
    """Put newly registered participants on the waiting list; returns how many were new."""

    def add(uow: SchedulingUnitOfWork, fresh: list[EventEnvelope]) -> None:
        waiting = [_waiting(event) for event in fresh]
        uow.participants.add_all(waiting)
        # Someone without a cooperative sits in no team: no plan changes for them.
        plans.request_replans_in(uow, {p.regency for p in waiting if p.cooperative_id is not None})

    return apply_once(uow, events, consumer, add)


def record_imported_participants(uow: SchedulingUnitOfWork, events: list[EventEnvelope], consumer: str) -> int:
    """Put a bulk import's participants on the waiting list, each event (a batch) once as a whole;
    returns how many events were new."""

    def add(uow: SchedulingUnitOfWork, fresh: list[EventEnvelope]) -> None:
        uow.participants.add_all([
            model.enter_waiting_list(participant_id=p.participant_id, regency=event.regency,
                                     position_group=p.position_group, cooperative_id=p.cooperative_id,
                                     registered_at=p.registered_at, full_name=p.full_name, position=p.position)
            for event in fresh for p in ParticipantsImportedV1.model_validate(event.payload).participants
        ])
        plans.request_replans_in(uow, {event.regency for event in fresh})

    return apply_once(uow, events, consumer, add)


def _waiting(event: EventEnvelope) -> model.SchedulingParticipant:
    payload = ParticipantRegisteredV1.model_validate(event.payload)
    return model.enter_waiting_list(
        participant_id=payload.participant_id,
        regency=event.regency,
        position_group=payload.position_group,
        cooperative_id=payload.cooperative_id,
        registered_at=payload.registered_at,
        full_name=payload.full_name,
        position=payload.position,
    )


def record_participant_changes(uow: SchedulingUnitOfWork, events: list[EventEnvelope], consumer: str) -> int:
    """Keep each participant's cooperative and group, and take the withdrawn and the erased off the
    waiting list for good, from ``participant.updated``, ``.withdrawn`` and ``.erased`` alike (the
    newest version wins); returns how many events were new."""

    def keep(uow: SchedulingUnitOfWork, fresh: list[EventEnvelope]) -> None:
        uow.participants.keep_newest(model.newest(_participant_change(event) for event in fresh))
        plans.request_replans_in(uow, {event.regency for event in fresh})

    return apply_once(uow, events, consumer, keep)


# Each event's payload, and the scheduling status it leaves (None: unchanged).
_PARTICIPANT_CHANGES = {
    "participant.updated": (ParticipantUpdatedV1, None),
    "participant.withdrawn": (ParticipantWithdrawnV1, model.SchedulingStatus.WITHDRAWN),
    "participant.erased": (ParticipantErasedV1, model.SchedulingStatus.ERASED),
}


def _participant_change(event: EventEnvelope) -> model.ParticipantChange:
    payload_model, status = _PARTICIPANT_CHANGES[event.type]
    payload = payload_model.model_validate(event.payload)
    return model.ParticipantChange(
        participant_id=payload.participant_id, regency=event.regency, position_group=payload.position_group,
        cooperative_id=payload.cooperative_id, registered_at=payload.registered_at, version=payload.version,
        status=status,
        # An erasure carries neither: what was kept of them goes.
        full_name=getattr(payload, "full_name", None), position=getattr(payload, "position", None),
    )


def record_substitutions(uow: SchedulingUnitOfWork, events: list[EventEnvelope], consumer: str) -> int:
    """Keep who took whose place, so a replacement can be seated where the one replaced was."""

    def keep(uow: SchedulingUnitOfWork, fresh: list[EventEnvelope]) -> None:
        links = []
        for event in fresh:
            payload = ParticipantSubstitutedV1.model_validate(event.payload)
            links.append((payload.replaced_participant_id, payload.replacement_participant_id, event.regency,
                          payload.substituted_at))
        uow.participants.add_substitutions(links)

    return apply_once(uow, events, consumer, keep)


def record_cooperatives(uow: SchedulingUnitOfWork, events: list[EventEnvelope], consumer: str) -> int:
    """Keep where each cooperative is (regency, kecamatan, name), from ``cooperative.registered``
    and ``cooperative.updated`` alike; returns how many events were new."""

    def keep(uow: SchedulingUnitOfWork, fresh: list[EventEnvelope]) -> None:
        uow.cooperatives.keep_newest(cooperatives.newest(_known_cooperative(event) for event in fresh))
        # Its participants may have arrived first and waited for it (not plannable until then).
        plans.request_replans_in(uow, {event.regency for event in fresh})

    return apply_once(uow, events, consumer, keep)


_COOPERATIVE_PAYLOADS = {"cooperative.registered": CooperativeRegisteredV1, "cooperative.updated": CooperativeUpdatedV1}


def _known_cooperative(event: EventEnvelope) -> cooperatives.KnownCooperative:
    payload = _COOPERATIVE_PAYLOADS[event.type].model_validate(event.payload)
    return cooperatives.KnownCooperative(
        cooperative_id=payload.cooperative_id, regency=event.regency, name=payload.name,
        districts=tuple(payload.districts), version=payload.version,
    )
