"""A participant's progress through the other services, kept here from their events: where
scheduling seated them and which certificates they hold. Reading a participant with their progress
is then one call to registration, and still answers while scheduling or certificates is down
(with what they last reported)."""
from __future__ import annotations

from typing import Any

from bimtek_shared.contracts.envelope import EventEnvelope
from bimtek_shared.contracts.events import (
    SessionRescheduledV1, SessionScheduledV1, certificate_standing, seat_standings,
)
from bimtek_shared.persistence.unit_of_work import apply_once

from ..domain import model
from .unit_of_work import RegistrationUnitOfWork

_SESSION_PAYLOADS = {"session.scheduled": SessionScheduledV1, "session.rescheduled": SessionRescheduledV1}


def record_sessions(uow: RegistrationUnitOfWork, events: list[EventEnvelope], consumer: str) -> int:
    def keep(uow: RegistrationUnitOfWork, fresh: list[EventEnvelope]) -> None:
        rows = []
        for event in fresh:
            session = _SESSION_PAYLOADS[event.type].model_validate(event.payload)
            rows.append({"session_id": session.session_id, "programme_id": session.programme_id,
                         "number": session.number, "days": session.days, "venue_id": session.venue_id,
                         "venue_name": session.venue_name,
                         "cancelled": isinstance(session, SessionRescheduledV1) and session.cancelled,
                         "version": session.version})
        uow.participant_progress.note_sessions(rows)

    return apply_once(uow, events, consumer, keep)


def record_seats(uow: RegistrationUnitOfWork, events: list[EventEnvelope], consumer: str) -> int:
    def keep(uow: RegistrationUnitOfWork, fresh: list[EventEnvelope]) -> None:
        uow.participant_progress.note_seats([seat for event in fresh
                                             for seat in seat_standings(event.type, event.payload)])

    return apply_once(uow, events, consumer, keep)


def record_certificates(uow: RegistrationUnitOfWork, events: list[EventEnvelope], consumer: str) -> int:
    def keep(uow: RegistrationUnitOfWork, fresh: list[EventEnvelope]) -> None:
        uow.participant_progress.note_certificates([certificate_standing(event.type, event.payload)
                                                    for event in fresh])

    return apply_once(uow, events, consumer, keep)


def progress_of(participant: dict[str, Any]) -> dict[str, Any]:
    """The ``scheduling`` and ``certificates`` parts of a participant's answer, from a participant
    read ``with_progress``. Scheduling's status: ``waiting`` for a plan, ``scheduled`` (seated in a
    published plan: ``sessions`` says where), ``withdrawn`` or ``erased``. Certificates' status:
    ``none`` yet, ``issued`` (one is valid) or ``revoked`` (every one they held)."""
    sessions, certificates = participant["sessions"], participant["certificates"]
    status = participant["status"]
    if status == model.ParticipantStatus.ACTIVE.value:
        status = "scheduled" if sessions else "waiting"
    if not certificates:
        certificate_status = "none"
    else:
        certificate_status = "issued" if any(c["status"] == "valid" for c in certificates) else "revoked"
    return {"scheduling": {"status": status, "sessions": sessions},
            "certificates": {"status": certificate_status, "certificates": certificates}}
