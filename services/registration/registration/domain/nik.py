"""The NIK (Nomor Induk Kependudukan): 16 digits ``PP KK CC DDMMYY SSSS``.

Province, regency and kecamatan of first registration; birth date with 40 added to the day for
women; a serial from 0001. There is no check digit. This module checks what the number itself
says; its regency and kecamatan digits are checked against the region reference data by
``regions.check_nik_region``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from bimtek_shared.contracts.errors import DomainError

from .regions import PROVINCES

_NIK = re.compile(r"^\d{16}$")


@dataclass(frozen=True)
class NikFacts:
    province: str  # "35"
    regency: str  # "35.17"
    district: str  # "35.17.09"
    birth_date: date
    sex: str  # "L" or "P"
    serial: str


def parse_nik(nik: str, *, today: date | None = None) -> NikFacts:
    if not _NIK.match(nik or ""):
        raise DomainError("nik_invalid", {"reason": "nik_not_16_digits"})
    province, regency, district = nik[0:2], nik[2:4], nik[4:6]
    if province not in PROVINCES:
        raise DomainError("nik_invalid", {"reason": "nik_unknown_province"})
    day, month, year2 = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    sex = "P" if day > 40 else "L"
    if sex == "P":
        day -= 40
    today = today or date.today()
    # Two-digit years: a date not after today is this century, the rest the last one.
    century = 2000 if 2000 + year2 <= today.year else 1900
    try:
        birth = date(century + year2, month, day)
        if birth > today:  # later this year: someone born a hundred years earlier
            birth = date(birth.year - 100, month, day)
    except ValueError:
        raise DomainError("nik_invalid", {"reason": "nik_birth_date_impossible"}) from None
    if nik[12:16] == "0000":
        raise DomainError("nik_invalid", {"reason": "nik_serial_zero"})
    return NikFacts(
        province=province,
        regency=f"{province}.{regency}",
        district=f"{province}.{regency}.{district}",
        birth_date=birth,
        sex=sex,
        serial=nik[12:16],
    )


def mask_nik(nik: str) -> str:
    """What responses show of a NIK: its last four digits (the serial), nothing of the region, birth
    date or sex. Revealing the whole NIK is a separate, permitted and audited action."""
    return "*" * 12 + nik[-4:]
