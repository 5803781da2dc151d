"""Cooperatives as the API takes and shows them."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from bimtek_shared.contracts.envelope import REGENCY_CODE_PATTERN, VILLAGE_CODE_PATTERN

from .participants import Position

VillageCode = Annotated[str, Field(pattern=VILLAGE_CODE_PATTERN, examples=["35.17.09.2003"])]
MAX_VILLAGES = 50

LEGAL_ENTITY_NUMBER = (
    "NIB (13 digits) or the number of the badan hukum decree, e.g. `AHU-0001234.AH.01.29.TAHUN 2025`; "
    "checked loosely, stored upper-case"
)


class CooperativeChangesIn(BaseModel):
    """PATCH: only the fields sent change; `null` clears an optional one (and gives `name` back its default)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True,
                              json_schema_extra={"examples": [{"contact_phone": "0812-3456-7890"}]})

    name: str | None = Field(default=None, max_length=200,
                             description="Default: `Koperasi Desa Merah Putih <desa>` or "
                                         "`Koperasi Kelurahan Merah Putih <kelurahan>`, after the first village")
    villages: list[VillageCode] | None = Field(
        default=None, min_length=1, max_length=MAX_VILLAGES,
        description="Desa/kelurahan codes of the cooperative's own regency; each served by one cooperative only")
    legal_entity_number: str | None = Field(default=None, max_length=100, description=LEGAL_ENTITY_NUMBER)
    contact_phone: str | None = Field(default=None, max_length=32)
    contact_email: str | None = Field(default=None, max_length=254)


class CooperativeIn(CooperativeChangesIn):
    """A new cooperative: its villages, and optionally its name, legal-entity number and contact."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={
        "examples": [{"villages": ["35.17.09.2003", "35.17.09.2001"], "legal_entity_number": "1234567890123",
                      "contact_phone": "0812-3456-7890"}]})

    regency: str | None = Field(
        default=None, pattern=REGENCY_CODE_PATTERN,
        description="Province administrators must name it; anyone else may leave it out or name their own.")
    villages: list[VillageCode] = Field(min_length=1, max_length=MAX_VILLAGES,
                                        description="The first one names the cooperative unless `name` is given")


class VillageOut(BaseModel):
    code: str
    name: str
    kind: Literal["desa", "kelurahan"]
    district: str = Field(description="Its kecamatan's code")


class TeamReasonOut(BaseModel):
    code: Literal["pengurus_fewer_than_5", "pengurus_even", "pengawas_fewer_than_3", "pengawas_even",
                  "position_vacant", "position_held_more_than_once"]
    position: Position | None
    count: int | None
    message: str = Field(description="In the caller's language")


class TeamOut(BaseModel):
    complete: bool = Field(description="An odd number of pengurus, at least 5, holding the five core positions "
                                       "once each; an odd number of pengawas, at least 3, with one ketua pengawas")
    pengurus: int
    pengawas: int
    reasons: list[TeamReasonOut] = Field(description="Why the team is incomplete; empty when complete")


class TeamDetailOut(TeamOut):
    positions: dict[Position, int] = Field(description="How many participants hold each position")


class CooperativeSummary(BaseModel):
    id: uuid.UUID
    regency: str
    name: str
    villages: list[VillageOut]
    districts: list[str] = Field(description="Codes of the kecamatan it serves villages in")
    legal_entity_number: str | None
    version: int = Field(description="Raised by every change")
    created_at: datetime
    updated_at: datetime
    team: TeamOut


class CooperativeOut(CooperativeSummary):
    contact_phone: str | None
    contact_email: str | None
    team: TeamDetailOut


class DistrictStatistics(BaseModel):
    code: str = Field(description="The kecamatan's code")
    name: str
    villages: int
    villages_with_cooperative: int
    cooperatives: int = Field(description="Cooperatives serving a village here (one serving two kecamatan "
                                          "counts in both)")
    cooperatives_with_complete_team: int
    participants: int = Field(description="Participants of those cooperatives")


class RegencyTotals(BaseModel):
    villages: int
    villages_with_cooperative: int
    cooperatives: int = Field(description="Each cooperative once")
    cooperatives_with_complete_team: int
    participants: int = Field(description="Participants of the regency's cooperatives")
    participants_without_cooperative: int


class CooperativeStatisticsOut(BaseModel):
    regency: str
    districts: list[DistrictStatistics] = Field(description="Every current kecamatan of the regency, by code")
    totals: RegencyTotals

