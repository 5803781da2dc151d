"""Cooperatives: the Koperasi Desa/Kelurahan Merah Putih, the villages each serves, and whether
its team of pengurus (board) and pengawas (supervisors) is complete.

A cooperative belongs to one regency and serves one or more of its villages: small villages may
share one cooperative, but a village is served by at most one (two cooperatives on one village are
refused). Whether a team is complete is reported, never enforced: participants register one at a
time, so a team is incomplete on its way to being complete.
"""
from __future__ import annotations

import re
import uuid
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from bimtek_shared.contracts.errors import DomainError

from .model import POSITIONS, SINGLE_HOLDER_POSITIONS, PositionGroup, normalise_phone

# The official name patterns, by the kind of the village a cooperative is named after.
NAME_PATTERNS = {
    "desa": "Koperasi Desa Merah Putih {village}",
    "kelurahan": "Koperasi Kelurahan Merah Putih {village}",
}
MIN_NAME_LENGTH, MAX_NAME_LENGTH = 3, 200
MAX_VILLAGES = 50  # far more than any cooperative serves; bounds the request
MAX_EMAIL_LENGTH = 254


@dataclass(frozen=True)
class Village:
    """A desa or kelurahan as the region reference data knows it."""

    code: str  # "35.17.09.2001"
    district: str  # its kecamatan, "35.17.09"
    name: str
    kind: str  # "desa" or "kelurahan"
    retired: bool = False  # no longer in the official data; kept because something may refer to it

    @property
    def regency(self) -> str:
        return self.district.rpartition(".")[0]


@dataclass
class Cooperative:
    id: uuid.UUID
    regency: str
    name: str
    villages: list[str]  # village codes, the first one the cooperative is named after by default
    legal_entity_number: str | None = None
    contact_phone: str | None = None
    contact_email: str | None = None
    version: int = 1  # raised by every change: consumers keep the newest they have seen
    created_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    updated_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.updated_at is None:
            self.updated_at = self.created_at

    def districts(self, known: Mapping[str, Village]) -> list[str]:
        """The kecamatan this cooperative serves villages in, sorted."""
        return sorted({known[code].district for code in self.villages})


def default_name(village: Village) -> str:
    """"Koperasi Desa Merah Putih <desa>" or "Koperasi Kelurahan Merah Putih <kelurahan>"."""
    return NAME_PATTERNS[village.kind].format(village=village.name)


def register_cooperative(
    *,
    regency: str,
    villages: list[str],
    known_villages: Mapping[str, Village],
    name: str | None = None,
    legal_entity_number: str | None = None,
    contact_phone: str | None = None,
    contact_email: str | None = None,
    id: uuid.UUID | None = None,
) -> Cooperative:
    """A new cooperative of ``regency`` serving ``villages`` (codes, looked up in ``known_villages``);
    named after its first village unless a name is given."""
    codes = check_villages(villages, regency, known_villages)
    return Cooperative(
        id=id or uuid.uuid4(),
        regency=regency,
        name=clean_name(name) if name is not None else default_name(known_villages[codes[0]]),
        villages=codes,
        legal_entity_number=normalise_legal_entity_number(legal_entity_number),
        contact_phone=_contact_phone(contact_phone),
        contact_email=normalise_email(contact_email),
    )


# What an update may change; a field left out of the changes stays as it is.
CHANGEABLE = ("name", "villages", "legal_entity_number", "contact_phone", "contact_email")


def change_cooperative(cooperative: Cooperative, changes: Mapping[str, Any],
                       known_villages: Mapping[str, Village]) -> list[str]:
    """Apply ``changes`` (only the fields sent; ``None`` clears an optional field, and gives the
    name back its default) and return the names of the fields that really changed."""
    unknown = set(changes) - set(CHANGEABLE)
    if unknown:
        raise ValueError(f"not changeable: {sorted(unknown)}")
    new: dict[str, Any] = {}
    if "villages" in changes:
        if changes["villages"] is None:
            raise _invalid("villages", "a cooperative serves at least one village")
        # A retired village it already serves may stay; only new ones must be current.
        new["villages"] = check_villages(changes["villages"], cooperative.regency, known_villages,
                                         already_served=cooperative.villages)
    if "name" in changes:
        first_village = (new.get("villages") or cooperative.villages)[0]
        new["name"] = (clean_name(changes["name"]) if changes["name"] is not None
                       else default_name(known_villages[first_village]))
    if "legal_entity_number" in changes:
        new["legal_entity_number"] = normalise_legal_entity_number(changes["legal_entity_number"])
    if "contact_phone" in changes:
        new["contact_phone"] = _contact_phone(changes["contact_phone"])
    if "contact_email" in changes:
        new["contact_email"] = normalise_email(changes["contact_email"])
    changed = [key for key in CHANGEABLE if key in new and new[key] != getattr(cooperative, key)]
    if changed:
        for key in changed:
            setattr(cooperative, key, new[key])
        cooperative.version += 1
        cooperative.updated_at = datetime.now(timezone.utc)
    return changed


def check_villages(codes: Iterable[str], regency: str, known_villages: Mapping[str, Village],
                   already_served: Collection[str] = ()) -> list[str]:
    """The village codes, each once in the order given, if every one exists in the region
    reference data and lies in ``regency``. Whether another cooperative serves one is the
    repository's to say (it is a fact about every cooperative, not this one)."""
    unique = list(dict.fromkeys(codes))
    if not unique:
        raise _invalid("villages", "a cooperative serves at least one village")
    if len(unique) > MAX_VILLAGES:
        raise _invalid("villages", f"at most {MAX_VILLAGES} villages")
    for code in unique:
        village = known_villages.get(code)
        if village is None or (village.retired and code not in already_served):
            raise DomainError("village_not_found", {"village": code})
        if village.regency != regency:
            raise DomainError("village_out_of_regency", {"village": code, "regency": regency})
    return unique


def clean_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not MIN_NAME_LENGTH <= len(cleaned) <= MAX_NAME_LENGTH:
        raise _invalid("name", f"{MIN_NAME_LENGTH} to {MAX_NAME_LENGTH} characters")
    return cleaned


# A cooperative's legal-entity number is one of two things, and both are accepted:
# - its NIB (Nomor Induk Berusaha, issued by OSS): exactly 13 digits;
# - the number of the decree that made it a badan hukum, e.g. "AHU-0001234.AH.01.29.TAHUN 2025"
#   (Kemenkumham, since 2018) or older regional numbers like "518/123/BH/XVI.12/2019", whose
#   shapes vary by office and year.
# So the check is loose: an all-digit number must be a 13-digit NIB; anything else must be 5 to
# 80 letters, digits, spaces and . / - with at least one digit. Stored upper-case, spaces collapsed.
_NIB = re.compile(r"^\d{13}$")
_DECREE_NUMBER = re.compile(r"^(?=.*\d)[A-Z0-9][A-Z0-9 ./\-]{3,78}[A-Z0-9]$")


def normalise_legal_entity_number(number: str | None) -> str | None:
    if number is None or not number.strip():
        return None
    cleaned = " ".join(number.split()).upper()
    valid = _NIB.match(cleaned) if cleaned.isdigit() else _DECREE_NUMBER.match(cleaned)
    if not valid:
        raise _invalid("legal_entity_number",
                       "a 13-digit NIB or a badan hukum decree number such as AHU-0001234.AH.01.29.TAHUN 2025")
    return cleaned


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


def normalise_email(email: str | None) -> str | None:
    """Loosely checked (something@domain.tld), stored lower-case; delivery proves the rest."""
    if email is None or not email.strip():
        return None
    cleaned = email.strip().lower()
    if len(cleaned) > MAX_EMAIL_LENGTH or not _EMAIL.match(cleaned):
        raise _invalid("contact_email", "an e-mail address")
    return cleaned


def _contact_phone(phone: str | None) -> str | None:
    try:
        return normalise_phone(phone)
    except DomainError:
        raise _invalid("contact_phone", "an Indonesian mobile number, e.g. 0812-3456-7890") from None


def _invalid(field_name: str, message: str) -> DomainError:
    return DomainError("validation_failed", {"errors": [{"field": field_name, "message": message}]})


# -- the team ------------------------------------------------------------------------------------
CORE_PENGURUS = ("ketua", "wakil_ketua_usaha", "wakil_ketua_keanggotaan", "sekretaris", "bendahara")
MIN_PENGURUS = 5
MIN_PENGAWAS = 3
# Positions one person holds (the rule is the participants', model.py); anggota may be many.
SINGLE_HOLDER = SINGLE_HOLDER_POSITIONS
POSITION_TITLES = {
    "ketua": "ketua",
    "wakil_ketua_usaha": "wakil ketua bidang usaha",
    "wakil_ketua_keanggotaan": "wakil ketua bidang keanggotaan",
    "sekretaris": "sekretaris",
    "bendahara": "bendahara",
    "anggota_pengurus": "anggota pengurus",
    "ketua_pengawas": "ketua pengawas",
    "anggota_pengawas": "anggota pengawas",
}

# Why a team is incomplete: code -> (Bahasa Indonesia, English); the templates take the reason's
# params. The position titles are the official Indonesian ones in both languages.
TEAM_REASONS: dict[str, tuple[str, str]] = {
    "pengurus_fewer_than_5": ("Pengurus baru {count} orang; minimal 5.",
                              "Only {count} pengurus; at least 5 are needed."),
    "pengurus_even": ("Jumlah pengurus {count} orang, genap; harus ganjil.",
                      "{count} pengurus is an even number; it must be odd."),
    "pengawas_fewer_than_3": ("Pengawas baru {count} orang; minimal 3.",
                              "Only {count} pengawas; at least 3 are needed."),
    "pengawas_even": ("Jumlah pengawas {count} orang, genap; harus ganjil.",
                      "{count} pengawas is an even number; it must be odd."),
    "position_vacant": ("Jabatan {title} belum terisi.", "No one holds the position of {title}."),
    "position_held_more_than_once": ("Jabatan {title} dipegang {count} orang; seharusnya 1.",
                                     "{count} people hold the position of {title}; it should be 1."),
}


@dataclass(frozen=True)
class TeamReason:
    code: str  # a key of TEAM_REASONS
    count: int | None = None
    position: str | None = None

    def message(self, language: str = "id") -> str:
        indonesian, english = TEAM_REASONS[self.code]
        template = english if language == "en" else indonesian
        return template.format(count=self.count, title=POSITION_TITLES.get(self.position or "", ""))

    def to_dict(self, language: str = "id") -> dict[str, Any]:
        return {"code": self.code, "position": self.position, "count": self.count,
                "message": self.message(language)}


@dataclass(frozen=True)
class TeamStatus:
    positions: dict[str, int]  # position -> how many hold it, every position listed
    pengurus: int
    pengawas: int
    reasons: tuple[TeamReason, ...]

    @property
    def complete(self) -> bool:
        return not self.reasons


# (position, how many active participants hold it), in position order: hashable, so one verdict
# serves every team of the same composition.
TeamComposition = tuple[tuple[str, int], ...]


def team_status(positions_held: Mapping[str, int]) -> TeamStatus:
    """Whether a team with these positions (position -> how many hold it) is complete, and if
    not, every reason why: an odd number of pengurus, at least 5, covering the five core
    positions once each; an odd number of pengawas, at least 3, with one ketua pengawas."""
    unknown = set(positions_held) - set(POSITIONS)
    if unknown:
        raise ValueError(f"unknown positions: {sorted(unknown)}")
    positions = {position: int(positions_held.get(position, 0)) for position in POSITIONS}
    pengurus = sum(n for position, n in positions.items() if POSITIONS[position] is PositionGroup.PENGURUS)
    pengawas = sum(n for position, n in positions.items() if POSITIONS[position] is PositionGroup.PENGAWAS)
    reasons: list[TeamReason] = []
    reasons += _size_reasons("pengurus", pengurus, MIN_PENGURUS)
    reasons += _holder_reasons(CORE_PENGURUS, positions)
    reasons += _size_reasons("pengawas", pengawas, MIN_PENGAWAS)
    reasons += _holder_reasons(("ketua_pengawas",), positions)
    return TeamStatus(positions=positions, pengurus=pengurus, pengawas=pengawas, reasons=tuple(reasons))


def _size_reasons(group: str, count: int, minimum: int) -> list[TeamReason]:
    reasons = []
    if count < minimum:
        reasons.append(TeamReason(f"{group}_fewer_than_{minimum}", count=count))
    if count % 2 == 0 and count > 0:  # nobody at all is said once, as too few
        reasons.append(TeamReason(f"{group}_even", count=count))
    return reasons


def _holder_reasons(single_positions: Iterable[str], positions: Mapping[str, int]) -> list[TeamReason]:
    reasons = []
    for position in single_positions:
        if positions[position] == 0:
            reasons.append(TeamReason("position_vacant", position=position))
        elif positions[position] > 1:
            reasons.append(TeamReason("position_held_more_than_once", count=positions[position], position=position))
    return reasons
