"""Certificates as the API shows them: publicly by their public id (never a NIK, which
certificates does not hold), and to staff with their history."""
from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

PUBLIC_ID = r"^[A-Za-z0-9_-]{22,32}$"
CertificateStatus = Literal["valid", "revoked", "superseded"]


class CertificateSignature(BaseModel):
    key_id: str = Field(description="Which published key signed it (`/api/v1/public/certificate-keys`)")
    algorithm: Literal["EdDSA"]
    value: str = Field(description="base64url Ed25519 signature over `canonical_data` (UTF-8)")
    canonical_data: str = Field(description="The signed JSON (sorted keys, no spaces): what makes the certificate")
    valid: bool = Field(description="Whether the signature checks against the published key")


class PublicCertificate(BaseModel):
    public_id: str
    number: str
    version: int
    status: CertificateStatus
    participant_id: uuid.UUID
    cooperative_id: uuid.UUID | None
    cooperative_name: str | None = Field(default=None, description="As printed; null while not known")
    full_name: str | None = Field(description="As printed; null once the person's data was erased")
    position_group: str
    position: str | None
    personal_data_erased: bool
    programme_id: uuid.UUID
    programme_title: str
    session_id: uuid.UUID
    regency: str
    session_days: list[date]
    days_attended: int
    jp_total: int
    issued_at: datetime
    revoked_at: datetime | None
    revoked_reason: str | None
    superseded_by: str | None = Field(description="The public id of the version that replaced this one")
    replaces: str | None = Field(description="The public id of the version this one replaced")
    verification_url: str
    signature: CertificateSignature


class CertificateHistoryEntry(BaseModel):
    action: str
    actor: str | None
    reason: str | None
    at: datetime


class Certificate(PublicCertificate):
    id: uuid.UUID
    history: list[CertificateHistoryEntry]


class RevocationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=3, max_length=500, description="Why, kept in the history and shown publicly")


class PublicKey(BaseModel):
    kty: Literal["OKP"]
    crv: Literal["Ed25519"]
    alg: Literal["EdDSA"]
    use: Literal["sig"]
    kid: str
    x: str


class CertificateKeys(BaseModel):
    keys: list[PublicKey]
    active_kid: str


class CertificateSummary(BaseModel):
    id: uuid.UUID
    public_id: str
    number: str
    version: int
    status: CertificateStatus
    participant_id: uuid.UUID
    programme_id: uuid.UUID
    session_id: uuid.UUID
    cooperative_id: uuid.UUID | None
    regency: str
    issued_at: datetime

