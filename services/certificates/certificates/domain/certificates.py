"""A certificate: what it states, its number, and the exact bytes its signature covers.

What is signed (the *canonical data*) is what makes the certificate: its number, public id,
version, the participant, cooperative, programme and session by id, the regency, the session's
days, days attended, JP and the moment of issue. Never the name: an erased person's certificate
must still verify, and a signature over a name would have to be thrown away with it. The name and
position printed on the document are kept beside the certificate (``printed_name``,
``printed_position``) and shown by the verification page, so a PDF whose name was edited is caught
by anyone who compares the two; an erasure withdraws them and the certificate still verifies.

A correction of the printed name or position re-issues the certificate: the same number, the next
version, a new public id; the old version is marked superseded and links to the new one. Every
version's address keeps answering.
"""
from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

from .document import CertificateDocument, Signatory

JAKARTA = ZoneInfo("Asia/Jakarta")
DEFAULT_NUMBER_FORMAT = "{sequence:04d}/BIMTEK-KDMP/{regency}/{year}"


class CertificateStatus(str, Enum):
    VALID = "valid"
    REVOKED = "revoked"
    SUPERSEDED = "superseded"  # re-issued: a newer version is the valid one


def format_number(number_format: str, *, sequence: int, regency: str, year: int) -> str:
    """The human-readable number, e.g. ``0001/BIMTEK-KDMP/35.17/2026``: unique because the
    sequence is counted per (regency, year), every programme of it included."""
    return number_format.format(sequence=sequence, regency=regency, year=year)


def check_number_format(number_format: str) -> None:
    """Refuse a format that would not tell certificates apart (no ``{sequence}``) or does not format."""
    if "{sequence" not in number_format:
        raise ValueError("CERTIFICATE_NUMBER_FORMAT must contain {sequence}")
    try:
        format_number(number_format, sequence=1, regency="35.17", year=2026)
    except (KeyError, IndexError, ValueError) as error:
        raise ValueError(f"CERTIFICATE_NUMBER_FORMAT does not format: {error}") from None


def issue_year(issued_at: datetime) -> int:
    return issued_at.astimezone(JAKARTA).year


@dataclass(frozen=True)
class CertificateFacts:
    """What a certificate states, all of it signed."""

    number: str
    public_id: str
    version: int
    participant_id: uuid.UUID
    cooperative_id: uuid.UUID | None
    position_group: str
    programme_id: uuid.UUID
    session_id: uuid.UUID
    regency: str
    programme_title: str
    session_days: tuple[date, ...]
    days_attended: int
    jp_total: int
    issued_at: datetime

    def canonical(self) -> bytes:
        """The signed bytes: JSON with sorted keys, no spaces, UTF-8; times in UTC to the second."""
        data: dict[str, Any] = {
            "number": self.number, "public_id": self.public_id, "version": self.version,
            "participant_id": str(self.participant_id),
            "cooperative_id": str(self.cooperative_id) if self.cooperative_id else None,
            "position_group": self.position_group, "programme_id": str(self.programme_id),
            "session_id": str(self.session_id), "regency": self.regency, "programme_title": self.programme_title,
            "session_days": [day.isoformat() for day in self.session_days], "days_attended": self.days_attended,
            "jp_total": self.jp_total,
            "issued_at": self.issued_at.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    def digest(self) -> bytes:
        return hashlib.sha256(self.canonical()).digest()


def build_document(facts: CertificateFacts, *, printed_name: str | None, printed_position: str | None,
                   verification_url: str, qr_token: str, cooperative_name: str = "", village_name: str = "",
                   district_name: str = "", regency_name: str = "", venue_name: str = "",
                   signatories: tuple[Signatory, ...] = ()) -> CertificateDocument:
    """The printed document's data. The names of the cooperative, its regions and the venue are
    kept from registration's and scheduling's events (``service_layer/places.py``); one not known
    prints empty (the regency as its code)."""
    return CertificateDocument(
        number=facts.number, participant_name=printed_name, position_group=facts.position_group,
        position=printed_position, cooperative_name=cooperative_name, village_name=village_name,
        district_name=district_name, regency_name=regency_name or facts.regency,
        programme_title=facts.programme_title, days=facts.session_days, venue_name=venue_name,
        total_hours=facts.jp_total, signatories=signatories, verification_url=verification_url, qr_token=qr_token,
        issued_on=facts.issued_at.astimezone(JAKARTA).date(), version=facts.version)


def verification_url(base_url: str, public_id: str) -> str:
    """The public page the QR code opens (the same address whatever happens to the certificate)."""
    return f"{base_url.rstrip('/')}/api/v1/public/certificates/{public_id}/page"
