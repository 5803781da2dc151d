"""How documents and pages say the shared codes in words: positions, months, dates.

One vocabulary for every printed thing (certificates, invitations, attendance sheets, the public
verification page, the planner's explanations), so a position or a date reads the same everywhere.
"""
from __future__ import annotations

from datetime import date

MONTH_NAMES: dict[str, tuple[str, ...]] = {
    "id": ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober",
           "November", "Desember"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
}
WEEKDAY_NAMES = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")  # Monday first, as date.weekday()

POSITION_TITLES = {
    "ketua": "Ketua",
    "wakil_ketua_usaha": "Wakil Ketua Bidang Usaha",
    "wakil_ketua_keanggotaan": "Wakil Ketua Bidang Keanggotaan",
    "sekretaris": "Sekretaris",
    "bendahara": "Bendahara",
    "anggota_pengurus": "Anggota Pengurus",
    "ketua_pengawas": "Ketua Pengawas",
    "anggota_pengawas": "Anggota Pengawas",
}


def month_name(month: int, language: str = "id") -> str:
    return MONTH_NAMES[language][month - 1]


def long_date(day: date, language: str = "id") -> str:
    """``1 Oktober 2025`` (``1 October 2025`` in English)."""
    return f"{day.day} {month_name(day.month, language)} {day.year}"
