"""What certificates keeps of scheduling's plans: each programme's attendance rule, each session's
days and venue name, and each participant's session; the newest revision or version of each wins, whatever order
the events arrive in."""
from __future__ import annotations

from bimtek_shared.contracts.envelope import EventEnvelope
from bimtek_shared.contracts.events import (
    ProgrammePublishedV1, SessionRescheduledV1, SessionScheduledV1, seat_standings,
)
from bimtek_shared.persistence.unit_of_work import apply_once

from .unit_of_work import CertificatesUnitOfWork


def record_programmes(uow: CertificatesUnitOfWork, events: list[EventEnvelope], consumer: str) -> int:
    def keep(uow: CertificatesUnitOfWork, fresh: list[EventEnvelope]) -> None:
        rows = []
        for event in fresh:
            payload = ProgrammePublishedV1.model_validate(event.payload)
            rows.append({"programme_id": payload.programme_id, "regency": event.regency,
                         "days_per_session": payload.days_per_session,
                         "min_attendance_days": payload.min_attendance_days, "revision": payload.revision})
        uow.training.keep_programmes(rows)

    return apply_once(uow, events, consumer, keep)


def record_sessions(uow: CertificatesUnitOfWork, events: list[EventEnvelope], consumer: str) -> int:
    """From ``session.scheduled`` and ``session.rescheduled`` alike."""

    def keep(uow: CertificatesUnitOfWork, fresh: list[EventEnvelope]) -> None:
        rows = []
        for event in fresh:
            rescheduled = event.type == "session.rescheduled"
            payload = (SessionRescheduledV1 if rescheduled else SessionScheduledV1).model_validate(event.payload)
            rows.append({"session_id": payload.session_id, "programme_id": payload.programme_id,
                         "regency": event.regency, "days": payload.days, "venue_name": payload.venue_name,
                         "version": payload.version,
                         "cancelled": rescheduled and payload.cancelled})
        uow.training.keep_sessions(rows)

    return apply_once(uow, events, consumer, keep)


def record_seats(uow: CertificatesUnitOfWork, events: list[EventEnvelope], consumer: str) -> int:
    def keep(uow: CertificatesUnitOfWork, fresh: list[EventEnvelope]) -> None:
        uow.training.keep_seats([seat for event in fresh for seat in seat_standings(event.type, event.payload)])

    return apply_once(uow, events, consumer, keep)
