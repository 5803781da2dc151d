from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

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


ParticipantLifeStatus = Literal["active", "withdrawn", "erased"]
WithdrawalReason = Literal["resigned", "ineligible", "deceased", "registered_in_error", "other"]
NIK_PATTERN = r"^\d{16}$"


class ParticipantOut(BaseModel):
    """A participant as responses show them: the NIK masked. Once erased, every personal field is
    null; id, regency, cooperative, position group and times stay."""

    id: uuid.UUID
    regency: str
    participant_code: str | None = Field(description="Personal code printed on the invitation, used to sign in")
    nik_masked: str | None = Field(description="Only the NIK's last four digits, e.g. `************0002`")
    full_name: str | None
    sex: Literal["L", "P"] | None
    birth_date: date | None
    phone: str | None
    position: Position | None
    position_group: Literal["pengurus", "pengawas"]
    cooperative_id: uuid.UUID | None
    registered_at: datetime
    status: ParticipantLifeStatus = Field(description="`withdrawn` ones are kept for history; `erased` ones "
                                                      "had their personal data erased at their request")
    replaces: uuid.UUID | None = Field(description="The participant this one substituted")
    replaced_by: uuid.UUID | None = Field(description="The participant who substituted this one")
    withdrawn_at: datetime | None
    withdrawal_reason: WithdrawalReason | Literal["substituted"] | None
    erased_at: datetime | None
    updated_at: datetime


class RegisteredParticipant(ParticipantOut):
    warnings: list[str] = Field(
        default_factory=list,
        description="Registered, but worth a look: nik_from_other_regency, nik_from_other_province, "
                    "nik_region_not_checked (no region data is loaded for the NIK's province)",
    )


class ParticipantSessionVenue(BaseModel):
    id: uuid.UUID
    name: str


class ParticipantSession(BaseModel):
    programme_id: uuid.UUID
    session_id: uuid.UUID
    number: int
    days: list[date]
    venue: ParticipantSessionVenue


class SchedulingView(BaseModel):
    """Where scheduling last said the participant stands."""

    status: Literal["waiting", "scheduled", "withdrawn", "erased"] = Field(
        description="waiting for a plan, scheduled (seated in a published plan), withdrawn or erased")
    sessions: list[ParticipantSession] = Field(description="Their session in each published programme, by date")


class ParticipantCertificate(BaseModel):
    programme_id: uuid.UUID
    number: str
    version: int = Field(description="Raised by each correction of the printed name or position")
    status: Literal["valid", "revoked"]


class CertificatesView(BaseModel):
    """Which certificates the certificates service last said the participant holds."""

    status: Literal["none", "issued", "revoked"] = Field(
        description="none yet, issued (one is valid) or revoked (every one they held)")
    certificates: list[ParticipantCertificate] = Field(description="One per programme completed")


class ParticipantStatus(BaseModel):
    """A participant with their progress. The progress is what scheduling and certificates last
    reported in their events, kept by registration: it may lag them by a moment, and it is
    answered while either is down."""

    participant: ParticipantOut
    scheduling: SchedulingView
    certificates: CertificatesView


class ParticipantChangesIn(BaseModel):
    """PATCH: only the fields sent change; `null` clears `phone` or takes the participant out of
    their cooperative. `nik`, `sex` and `birth_date` are a correction: all three together, checked
    against each other as at registration."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True,
                              json_schema_extra={"examples": [{"position": "sekretaris", "phone": "0812-3456-7890"}]})

    full_name: str | None = Field(default=None, min_length=1, max_length=200)
    phone: str | None = Field(default=None, max_length=32)
    position: Position | None = None
    cooperative_id: uuid.UUID | None = Field(default=None, description="A cooperative of the participant's regency")
    nik: str | None = Field(default=None, pattern=NIK_PATTERN, description="Nomor Induk Kependudukan")
    sex: Literal["L", "P"] | None = None
    birth_date: date | None = None


class UpdatedParticipant(ParticipantOut):
    warnings: list[str] = Field(default_factory=list, description="As at registration, after a NIK correction")


class WithdrawalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: WithdrawalReason


class ReplacementIn(BaseModel):
    """The person who takes the participant's place, in the same cooperative and position."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={"examples": [{
        "nik": "3517091503800003", "full_name": "Budi Santoso", "sex": "L", "birth_date": "1980-03-15",
        "phone": "081298765432"}]})

    nik: str = Field(pattern=NIK_PATTERN, description="Nomor Induk Kependudukan")
    full_name: str = Field(min_length=1, max_length=200)
    sex: Literal["L", "P"] = Field(description="L = laki-laki, P = perempuan")
    birth_date: date
    phone: str | None = Field(default=None, max_length=32)


class SubstitutionOut(BaseModel):
    replaced: ParticipantOut = Field(description="Now withdrawn (reason `substituted`), `replaced_by` set")
    replacement: RegisteredParticipant = Field(description="Registered in the same cooperative and position, "
                                                           "`replaces` set")


class NikRevealIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True,
                              json_schema_extra={"examples": [{"purpose": "Verifikasi data untuk surat tugas"}]})
    purpose: str = Field(min_length=5, max_length=500, description="Why; kept in the audit trail")


class NikRevealOut(BaseModel):
    participant_id: uuid.UUID
    nik: str


AuditAction = Literal["register", "import", "read", "list", "update", "withdraw", "substitute", "reveal_nik",
                      "export", "erase"]


class AuditRecordOut(BaseModel):
    id: int
    at: datetime
    actor_user: str = Field(description="The user (or participant) id of who did it")
    actor_role: str
    action: AuditAction
    participant_id: uuid.UUID | None = Field(description="None for a list (one record per list request)")
    regency: str | None = Field(description="The participant's regency, or the one listed; None: province-wide")
    purpose: str | None = Field(description="Why, for a NIK reveal")
    correlation_id: str = Field(description="The X-Request-ID of the request")
    details: dict[str, Any] | None = Field(description="Ids and counts: the fields changed, a list's size, ...")


class ExportedParticipant(ParticipantOut):
    nik: str | None = Field(description="In full; null once erased")


class ParticipantExport(BaseModel):
    """Everything registration holds about a person, for their data subject request (UU PDP)."""

    participant: ExportedParticipant
    audit_trail: list[AuditRecordOut] = Field(description="Who read or changed their data, oldest first")
    held_by_other_services: dict[str, str] = Field(description="What other services keep of them (never the NIK)")
    exported_at: datetime
