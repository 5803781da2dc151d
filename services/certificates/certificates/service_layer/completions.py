"""What certificates keeps of scheduling's attendance: the days attended, closed sessions and, above
all, who completed a programme (``participant.completed``), which a certificate states. Each
event takes effect once (``apply_once``); a completion is kept once per participant and programme,
and a new one is issued its certificate in the same transaction."""
from __future__ import annotations

from bimtek_shared.contracts.envelope import EventEnvelope
from bimtek_shared.contracts.events import AttendanceRecordedV1, ParticipantCompletedV1, SessionClosedV1
from bimtek_shared.persistence.unit_of_work import apply_once

from .issuing import issue_for_completions
from .unit_of_work import CertificatesUnitOfWork


def record_attendance(uow: CertificatesUnitOfWork, events: list[EventEnvelope], consumer: str) -> int:
    def keep(uow: CertificatesUnitOfWork, fresh: list[EventEnvelope]) -> None:
        newest: dict[tuple, dict] = {}
        for event in fresh:
            payload = AttendanceRecordedV1.model_validate(event.payload)
            for record in payload.records:
                key = (payload.session_id, record.participant_id, record.day)
                if key not in newest or newest[key]["recorded_at"] < payload.recorded_at:
                    newest[key] = {"session_id": payload.session_id, "participant_id": record.participant_id,
                                   "day": record.day, "present": record.present, "recorded_at": payload.recorded_at}
        uow.completions.keep_attendance(list(newest.values()))

    return apply_once(uow, events, consumer, keep)


def record_closed_sessions(uow: CertificatesUnitOfWork, events: list[EventEnvelope], consumer: str) -> int:
    def keep(uow: CertificatesUnitOfWork, fresh: list[EventEnvelope]) -> None:
        rows = []
        for event in fresh:
            payload = SessionClosedV1.model_validate(event.payload)
            rows.append({"session_id": payload.session_id, "programme_id": payload.programme_id,
                         "regency": event.regency, "participants": payload.participants,
                         "completed": payload.completed, "closed_at": payload.closed_at})
        uow.completions.add_closed_sessions(rows)

    return apply_once(uow, events, consumer, keep)


def record_completions(uow: CertificatesUnitOfWork, events: list[EventEnvelope], consumer: str) -> int:
    def keep(uow: CertificatesUnitOfWork, fresh: list[EventEnvelope]) -> None:
        rows = {}
        for event in fresh:
            payload = ParticipantCompletedV1.model_validate(event.payload)
            rows.setdefault((payload.participant_id, payload.programme_id), {
                "participant_id": payload.participant_id, "programme_id": payload.programme_id,
                "session_id": payload.session_id, "regency": event.regency,
                "programme_title": payload.programme_title, "session_days": payload.session_days,
                "days_attended": payload.days_attended, "jp_total": payload.jp_total,
                "completed_at": payload.completed_at})
        # In key order, so concurrent batches lock the same rows in the same order.
        issue_for_completions(uow, uow.completions.add_completions([rows[key] for key in sorted(rows)]))

    return apply_once(uow, events, consumer, keep)
