"""What a certificate's printed document shows: plain data, handed to a renderer.

The issuing side (numbering, signing, lifecycle) fills it from the certificate and the roster; the
rendering side (``adapters/pdf.py``) turns it into an A4 landscape PDF. Neither needs the other's
internals, and the renderer runs in worker processes, so everything here pickles.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Signatory:
    name: str  # e.g. "Dr. H. Ahmad Fauzi, M.Si."
    title: str  # e.g. "Kepala Dinas Koperasi dan Usaha Mikro Kabupaten Jombang"
    employee_number: str | None = None  # NIP, printed under the name when given


@dataclass(frozen=True)
class CertificateDocument:
    number: str  # "0001/BIMTEK-KDMP/35.17/2025"
    participant_name: str | None  # None once the person is erased: the document is then not rendered
    position_group: str  # "pengurus" / "pengawas"
    position: str | None  # "ketua", "bendahara", ... (codes; the renderer prints them in Indonesian)
    cooperative_name: str
    village_name: str  # desa/kelurahan
    district_name: str  # kecamatan
    regency_name: str  # "Kabupaten Jombang"
    programme_title: str  # "Bimtek Perkoperasian KDMP Kabupaten Jombang 2025"
    days: tuple[date, ...]  # the session's days
    venue_name: str
    total_hours: int  # JP
    signatories: tuple[Signatory, ...]  # one to three, left to right
    verification_url: str  # what the QR code opens: the public verification page
    qr_token: str  # the compact signed token, also in the QR code (offline checking)
    issued_on: date
    version: int = 1  # > 1 for a re-issue
