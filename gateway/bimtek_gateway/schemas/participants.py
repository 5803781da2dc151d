from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bimtek_shared.contracts.envelope import REGENCY_CODE_PATTERN

Position = Literal[
    "ketua", "wakil_ketua_usaha", "wakil_ketua_keanggotaan", "sekretaris", "bendahara",
    "anggota_pengurus", "ketua_pengawas", "anggota_pengawas",
]


class ParticipantIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [{
                "nik": "3517094107850002", "full_name": "Siti Aminah", "sex": "P",
                "birth_date": "1985-07-01", "position": "ketua", "phone": "081234567890",
            }]
        },
    )

    regency: str | None = Field(
        default=None, pattern=REGENCY_CODE_PATTERN,
        description="Kemendagri regency code; defaults to the caller's own regency.",
    )
    nik: str = Field(min_length=16, max_length=16, pattern=r"^\d{16}$", description="Nomor Induk Kependudukan")
    full_name: str = Field(min_length=1, max_length=200)
    sex: Literal["L", "P"] = Field(description="L = laki-laki, P = perempuan")
    birth_date: date
    position: Position
    phone: str | None = Field(default=None, max_length=32)
    cooperative_id: uuid.UUID | None = None


class ParticipantOut(BaseModel):
    id: uuid.UUID
    regency: str
    participant_code: str = Field(description="Personal code printed on the invitation, used to sign in")
    nik_masked: str = Field(description="The NIK with its birth-date digits hidden")
    full_name: str
    sex: Literal["L", "P"]
    birth_date: date
    phone: str | None
    position: Position
    position_group: Literal["pengurus", "pengawas"]
    cooperative_id: uuid.UUID | None
    registered_at: datetime


class RegisteredParticipant(ParticipantOut):
    warnings: list[str] = Field(default_factory=list, description="e.g. nik_from_other_regency")


class ServiceView(BaseModel):
    available: bool = Field(description="False when the service could not be asked; the rest is then unknown")
    status: str | None = None


class ParticipantStatus(BaseModel):
    participant: ParticipantOut
    scheduling: ServiceView
    certificates: ServiceView
