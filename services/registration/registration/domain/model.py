"""Participants: the board members (pengurus) and supervisors (pengawas) of a cooperative."""
from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from enum import Enum
from typing import Any

from bimtek_shared.contracts.errors import DomainError

from .nik import parse_nik
from .regions import RegionDirectory, check_nik_region


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
assert len(CODE_ALPHABET) == 32, "new_participant_code takes 5 bits a letter"


def new_participant_code() -> str:
    # One read of the system's randomness, not one per letter (a bulk import makes 68,000 codes):
    # 32 letters, so the low 5 bits of a random byte pick one without bias.
    return "".join(CODE_ALPHABET[byte & 31] for byte in secrets.token_bytes(CODE_LENGTH))


def normalise_participant_code(code: str) -> str:
    """A code as typed on a phone (any case, maybe with spaces or dashes) as it is stored."""
    return re.sub(r"[\s\-]", "", code).upper()


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


class ParticipantStatus(str, Enum):
    ACTIVE = "active"  # on their cooperative's team
    WITHDRAWN = "withdrawn"  # left the team; the row stays for history
    ERASED = "erased"  # personal data erased on request; what counts stays


# Positions one person holds in a cooperative at a time (anggota, further members, may be many).
SINGLE_HOLDER_POSITIONS = ("ketua", "wakil_ketua_usaha", "wakil_ketua_keanggotaan", "sekretaris", "bendahara",
                           "ketua_pengawas")
# Why a participant is withdrawn. ``substituted`` is given by a substitution, never chosen by hand.
WITHDRAWAL_REASONS = ("resigned", "ineligible", "deceased", "registered_in_error", "other")
SUBSTITUTED = "substituted"
# The fields a change may touch; the NIK, sex and birth date only together (a correction).
CHANGEABLE = ("full_name", "phone", "position", "cooperative_id", "nik", "sex", "birth_date")
IDENTITY_FIELDS = ("nik", "sex", "birth_date")


@dataclass
class Participant:
    id: uuid.UUID
    regency: str
    # Personal fields: None once erased.
    participant_code: str | None
    nik: str | None
    full_name: str | None
    sex: str | None
    birth_date: date | None
    position: str | None
    phone: str | None = None
    cooperative_id: uuid.UUID | None = None
    registered_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    warnings: list[str] = field(default_factory=list)
    status: ParticipantStatus = ParticipantStatus.ACTIVE
    version: int = 1  # raised by every change: consumers keep the newest state they have seen
    replaces: uuid.UUID | None = None  # the participant this one substituted
    replaced_by: uuid.UUID | None = None  # the participant who substituted this one
    withdrawn_at: datetime | None = None
    withdrawal_reason: str | None = None
    erased_at: datetime | None = None
    updated_at: datetime | None = None
    # Follows the position; kept on its own once the position is erased (counts per group stay right).
    position_group: PositionGroup | None = None

    def __post_init__(self) -> None:
        if self.position is not None:
            self.position_group = POSITIONS[self.position]
        if self.updated_at is None:
            self.updated_at = self.registered_at

    @property
    def active(self) -> bool:
        return self.status is ParticipantStatus.ACTIVE

    @property
    def holds_alone(self) -> bool:
        """Whether no other active participant of the cooperative may hold this one's position."""
        return self.active and self.cooperative_id is not None and self.position in SINGLE_HOLDER_POSITIONS


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
    regions: RegionDirectory,
    id: uuid.UUID | None = None,
) -> Participant:
    """Check a registration against what the NIK says (itself, and its region digits against the
    region reference data), and build the participant."""
    warnings = _checked_identity(nik, sex, birth_date, regency, regions)
    return Participant(
        id=id or uuid.uuid4(),
        regency=regency,
        participant_code=new_participant_code(),
        nik=nik,
        full_name=_clean_name(full_name),
        sex=sex,
        birth_date=birth_date,
        position=_checked_position(position),
        phone=normalise_phone(phone),
        cooperative_id=cooperative_id,
        warnings=warnings,
    )


def _checked_identity(nik: str, sex: str, birth_date: date, regency: str, regions: RegionDirectory) -> list[str]:
    """The NIK checked in itself, against the region data, and against the sex and birth date
    given; returns the warnings it gives."""
    facts = parse_nik(nik)
    warnings = check_nik_region(facts, regency, regions)
    if facts.sex != sex:
        raise DomainError("nik_invalid", {"reason": "nik_sex_mismatch"})
    if facts.birth_date != birth_date:
        raise DomainError("nik_invalid", {"reason": "nik_birth_date_mismatch"})
    return warnings


def _checked_position(position: str) -> str:
    if position not in POSITIONS:
        raise DomainError("validation_failed", {"field": "position"})
    return position


def _clean_name(full_name: str) -> str:
    name = " ".join(full_name.split())
    if not name:
        raise DomainError("validation_failed", {"field": "full_name"})
    return name


# -- a participant's life: changes, withdrawal, substitution, erasure ------------------------------
def require_active(participant: Participant) -> None:
    if participant.status is ParticipantStatus.ERASED:
        raise DomainError("participant_erased")
    if not participant.active:
        raise DomainError("participant_not_active", {"status": participant.status.value})


def change(participant: Participant, changes: Mapping[str, Any], regions: RegionDirectory) -> list[str]:
    """Apply ``changes`` (only the fields sent) to an active participant and return the names of the
    fields that really changed. The NIK, sex and birth date are a correction of who the person is:
    all three together, checked against each other as at registration (the warnings go to
    ``participant.warnings``). A new cooperative must be checked by the caller (it lives elsewhere)."""
    unknown = set(changes) - set(CHANGEABLE)
    if unknown:
        raise ValueError(f"not changeable: {sorted(unknown)}")
    require_active(participant)
    new: dict[str, Any] = {}
    identity = [name for name in IDENTITY_FIELDS if name in changes]
    if identity:
        if len(identity) < len(IDENTITY_FIELDS) or any(changes[name] is None for name in IDENTITY_FIELDS):
            raise DomainError("validation_failed", {"errors": [
                {"field": name, "message": "nik, sex and birth_date are corrected together"}
                for name in IDENTITY_FIELDS if changes.get(name) is None]})
        participant.warnings = _checked_identity(changes["nik"], changes["sex"], changes["birth_date"],
                                                 participant.regency, regions)
        new.update({name: changes[name] for name in IDENTITY_FIELDS})
    if "full_name" in changes:
        new["full_name"] = _clean_name(changes["full_name"] or "")
    if "phone" in changes:
        new["phone"] = normalise_phone(changes["phone"])
    if "position" in changes:
        new["position"] = _checked_position(changes["position"] or "")
    if "cooperative_id" in changes:
        new["cooperative_id"] = changes["cooperative_id"]
    changed = [name for name in CHANGEABLE if name in new and new[name] != getattr(participant, name)]
    for name in changed:
        setattr(participant, name, new[name])
    if changed:
        participant.position_group = POSITIONS[participant.position]  # type: ignore[index]
        _touch(participant)
    return changed


def withdraw(participant: Participant, reason: str, *, replaced_by: uuid.UUID | None = None) -> None:
    """Take an active participant off their team (their position is free again); the row stays."""
    if reason not in WITHDRAWAL_REASONS and not (reason == SUBSTITUTED and replaced_by is not None):
        raise DomainError("validation_failed", {"errors": [{"field": "reason", "message": "not a withdrawal reason"}]})
    require_active(participant)
    participant.status = ParticipantStatus.WITHDRAWN
    participant.withdrawal_reason = reason
    participant.replaced_by = replaced_by
    _touch(participant)
    participant.withdrawn_at = participant.updated_at


def substitute(
    replaced: Participant, *, nik: str, full_name: str, sex: str, birth_date: date, phone: str | None = None,
    regions: RegionDirectory,
) -> Participant:
    """A new person takes an active participant's place: same regency, cooperative and position.
    The one replaced is withdrawn; each names the other. Returns the new participant."""
    require_active(replaced)
    assert replaced.position is not None  # an active participant has one
    replacement = register(regency=replaced.regency, nik=nik, full_name=full_name, sex=sex, birth_date=birth_date,
                           position=replaced.position, phone=phone, cooperative_id=replaced.cooperative_id,
                           regions=regions)
    replacement.replaces = replaced.id
    withdraw(replaced, SUBSTITUTED, replaced_by=replacement.id)
    return replacement


def erase(participant: Participant) -> None:
    """Erase a person's data on their request (UU PDP): every personal field goes; what counts
    stays (id, regency, cooperative, position group, timestamps, links). An active participant
    leaves the team with it."""
    if participant.status is ParticipantStatus.ERASED:
        raise DomainError("participant_erased")
    participant.participant_code = participant.nik = participant.full_name = participant.sex = None
    participant.birth_date = participant.position = participant.phone = None
    participant.status = ParticipantStatus.ERASED
    _touch(participant)
    participant.erased_at = participant.updated_at


def check_position_free(participant: Participant, holder: uuid.UUID | None) -> None:
    """``holder``: the active participant holding this participant's position in their cooperative,
    if any. A position one person holds cannot be held by a second at once."""
    if participant.holds_alone and holder is not None and holder != participant.id:
        raise DomainError("position_taken", {"position": participant.position})


def _touch(participant: Participant) -> None:
    participant.version += 1
    participant.updated_at = datetime.now(timezone.utc)
