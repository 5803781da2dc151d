"""What scheduling keeps of certificates' events: which completion got which certificate number,
and whether it still stands (issued, re-issued, revoked), beside the session outcome."""
from __future__ import annotations

from bimtek_shared.contracts.envelope import EventEnvelope
from bimtek_shared.contracts.events import CertificateIssuedV1, CertificateReissuedV1, CertificateRevokedV1
from bimtek_shared.persistence.unit_of_work import apply_once

from .unit_of_work import SchedulingUnitOfWork

_PAYLOADS = {"certificate.issued": (CertificateIssuedV1, "valid"),
             "certificate.reissued": (CertificateReissuedV1, "valid"),
             "certificate.revoked": (CertificateRevokedV1, "revoked")}


def record_certificates(uow: SchedulingUnitOfWork, events: list[EventEnvelope], consumer: str) -> int:
    def keep(uow: SchedulingUnitOfWork, fresh: list[EventEnvelope]) -> None:
        rows = []
        for event in fresh:
            model, status = _PAYLOADS[event.type]
            payload = model.model_validate(event.payload)
            rows.append({"participant_id": payload.participant_id, "programme_id": payload.programme_id,
                         "number": payload.number, "version": payload.version, "status": status})
        uow.attendance.note_certificates(rows)

    return apply_once(uow, events, consumer, keep)
