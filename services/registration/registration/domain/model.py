"""Participants: the board members (pengurus) and supervisors (pengawas) of a cooperative."""
from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from enum import Enum

from bimtek_shared.contracts.errors import DomainError

from .nik import parse_nik


class PositionGroup(str, Enum):
    PENGURUS = "pengurus"
    PENGAWAS = "pengawas"


POSITIONS: dict[str, PositionGroup] = {
    "ketua": PositionGroup.PENGURUS,
    "wakil_ketua_usaha": PositionGroup.PENGURUS,
    "wakil_ketua_keanggotaan": PositionGroup.PENGURUS,
    "sekretaris": PositionGroup.PENGURUS,
    "bendahara": PositionGroup.PENGURUS,
    "anggota_pengurus": PositionGroup.PENGURUS,
    "ketua_pengawas": PositionGroup.PENGAWAS,
    "anggota_pengawas": PositionGroup.PENGAWAS,
}

# No 0/O or 1/I: the code is read off a printed invitation and typed on a phone.
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8


def new_participant_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_phone(phone: str | None) -> str | None:
    """Indonesian mobile numbers to +62...; refuses what cannot be one."""
    if phone is None or not phone.strip():
        return None
    digits = re.sub(r"[\s\-().]", "", phone.strip())
    if digits.startswith("+62"):
        rest = digits[3:]
    elif digits.startswith("62"):
        rest = digits[2:]
    elif digits.startswith("0"):
        rest = digits[1:]
    else:
        raise DomainError("validation_failed", {"field": "phone"})
    if not rest.isdigit() or not 8 <= len(rest) <= 13 or not rest.startswith("8"):
        raise DomainError("validation_failed", {"field": "phone"})
    return "+62" + rest


@dataclass
class Participant:
    id: uuid.UUID
    regency: str
    participant_code: str
    nik: str
    full_name: str
    sex: str
    birth_date: date
    position: str
    phone: str | None = None
    cooperative_id: uuid.UUID | None = None
    registered_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    warnings: list[str] = field(default_factory=list)

    @property
    def position_group(self) -> PositionGroup:
        return POSITIONS[self.position]


def register(
    *,
    regency: str,
    nik: str,
    full_name: str,
    sex: str,
    birth_date: date,
    position: str,
    phone: str | None = None,
    cooperative_id: uuid.UUID | None = None,
) -> Participant:
    """Check a registration against what the NIK itself says, and build the participant."""
    facts = parse_nik(nik)
    if facts.sex != sex:
        raise DomainError("nik_invalid", {"reason": "nik_sex_mismatch"})
    if facts.birth_date != birth_date:
        raise DomainError("nik_invalid", {"reason": "nik_birth_date_mismatch"})
    if position not in POSITIONS:
        raise DomainError("validation_failed", {"field": "position"})
    name = " ".join(full_name.split())
    if not name:
        raise DomainError("validation_failed", {"field": "full_name"})
    warnings = []
    if facts.regency != regency:
        # People move: a NIK first issued elsewhere is allowed, but never silently.
        warnings.append("nik_from_other_regency")
    return Participant(
        id=uuid.uuid4(),
        regency=regency,
        participant_code=new_participant_code(),
        nik=nik,
        full_name=name,
        sex=sex,
        birth_date=birth_date,
        position=position,
        phone=normalise_phone(phone),
        cooperative_id=cooperative_id,
        warnings=warnings,
    )
