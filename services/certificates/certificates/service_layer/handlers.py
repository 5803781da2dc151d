"""Use cases of the certificates service."""
from __future__ import annotations

from bimtek_shared.contracts.envelope import EventEnvelope
from bimtek_shared.contracts.events import (
    ParticipantErasedV1, ParticipantRegisteredV1, ParticipantsImportedV1, ParticipantUpdatedV1, ParticipantWithdrawnV1,
)
from bimtek_shared.persistence.unit_of_work import apply_once

from ..domain.model import RosterEntry, RosterStatus, newest
from .issuing import follow_roster_changes
from .unit_of_work import CertificatesUnitOfWork


def record_roster_entries(uow: CertificatesUnitOfWork, events: list[EventEnvelope], consumer: str) -> int:
    """Keep the names certificates will print; returns how many participants were new."""

    def add(uow: CertificatesUnitOfWork, fresh: list[EventEnvelope]) -> None:
        entries = [_roster_entry(event) for event in fresh]
        uow.roster.add_all(entries)
        follow_roster_changes(uow, {entry.participant_id for entry in entries})  # a completion that came first

    return apply_once(uow, events, consumer, add)


def record_imported_roster_entries(uow: CertificatesUnitOfWork, events: list[EventEnvelope], consumer: str) -> int:
    """Keep the names of a bulk import's participants, each event (a batch) once as a whole;
    returns how many events were new."""

    def add(uow: CertificatesUnitOfWork, fresh: list[EventEnvelope]) -> None:
        entries = [
            RosterEntry(participant_id=p.participant_id, regency=event.regency, full_name=p.full_name,
                        position_group=p.position_group, position=p.position, cooperative_id=p.cooperative_id)
            for event in fresh for p in ParticipantsImportedV1.model_validate(event.payload).participants
        ]
        uow.roster.add_all(entries)
        follow_roster_changes(uow, {entry.participant_id for entry in entries})

    return apply_once(uow, events, consumer, add)


def record_roster_changes(uow: CertificatesUnitOfWork, events: list[EventEnvelope], consumer: str) -> int:
    """Keep the roster as registration says the participant is now, from ``participant.updated``,
    ``.withdrawn`` and ``.erased`` alike (the newest version wins; an erasure drops the name and
    position), and the certificates with it (``issuing.follow_roster_changes``); returns how many
    events were new."""

    def keep(uow: CertificatesUnitOfWork, fresh: list[EventEnvelope]) -> None:
        entries = newest(_changed_entry(event) for event in fresh)
        uow.roster.keep_newest(entries)
        follow_roster_changes(uow, {entry.participant_id for entry in entries})

    return apply_once(uow, events, consumer, keep)


def _changed_entry(event: EventEnvelope) -> RosterEntry:
    if event.type == "participant.erased":
        erased = ParticipantErasedV1.model_validate(event.payload)
        return RosterEntry(participant_id=erased.participant_id, regency=event.regency, full_name=None,
                           position_group=erased.position_group, position=None, cooperative_id=erased.cooperative_id,
                           status=RosterStatus.ERASED, version=erased.version)
    withdrawn = event.type == "participant.withdrawn"
    state = (ParticipantWithdrawnV1 if withdrawn else ParticipantUpdatedV1).model_validate(event.payload)
    return RosterEntry(participant_id=state.participant_id, regency=event.regency, full_name=state.full_name,
                       position_group=state.position_group, position=state.position,
                       cooperative_id=state.cooperative_id,
                       status=RosterStatus.WITHDRAWN if withdrawn else RosterStatus.ACTIVE, version=state.version)


def _roster_entry(event: EventEnvelope) -> RosterEntry:
    payload = ParticipantRegisteredV1.model_validate(event.payload)
    return RosterEntry(
        participant_id=payload.participant_id,
        regency=event.regency,
        full_name=payload.full_name,
        position_group=payload.position_group,
        position=payload.position,
        cooperative_id=payload.cooperative_id,
    )
