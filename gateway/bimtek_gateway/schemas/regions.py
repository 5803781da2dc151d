"""The official region hierarchy as the API shows it: names and Kemendagri codes only."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

REGENCY_CODE = r"^\d{2}\.\d{2}$"
DISTRICT_CODE = r"^\d{2}\.\d{2}\.\d{2}$"


class Regency(BaseModel):
    code: str = Field(examples=["35.17"])
    name: str = Field(examples=["Kabupaten Jombang"])
    kind: Literal["kabupaten", "kota"]


class RegencyList(BaseModel):
    province: str = Field(examples=["35"])
    items: list[Regency]


class District(BaseModel):
    """A kecamatan."""

    code: str = Field(examples=["35.17.09"])
    name: str = Field(examples=["Jombang"])


class DistrictList(BaseModel):
    regency: str = Field(examples=["35.17"])
    items: list[District]


class Village(BaseModel):
    """A desa or kelurahan."""

    code: str = Field(examples=["35.17.09.1002"])
    name: str = Field(examples=["Jombatan"])
    kind: Literal["desa", "kelurahan"]


class VillageList(BaseModel):
    district: str = Field(examples=["35.17.09"])
    items: list[Village]
