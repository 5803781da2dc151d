"""Training progress as the API shows it: figures only, never a person."""
from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

NULL_WHEN_DOWN = "null when the service counting it did not answer (see `problems`)"


class Figures(BaseModel):
    villages: int | None = Field(description=f"Desa/kelurahan (region reference data); {NULL_WHEN_DOWN}")
    villages_with_cooperative: int | None
    cooperatives_registered: int | None = Field(description="Cooperatives serving a village here")
    participants_registered: int | None = Field(description="Active participants (not withdrawn or erased)")
    participants_scheduled: int | None = Field(description="Seated in a session of a published plan")
    participants_checked_in: int | None = Field(description="Present on at least one session day")
    participants_completed: int | None = Field(description="Completed a closed session")
    certificates_issued: int | None = Field(description="Valid now (the current version, not revoked)")
    certificates_revoked: int | None
    certificates_reissued: int | None = Field(description="Versions superseded by a re-issue")
    certificates_awaiting_issue: int | None = Field(description="Completions without a certificate yet")


class Area(Figures):
    code: str = Field(description="A kecamatan's code (for a regency) or a regency's (for the province)")
    name: str | None


class SessionDistrict(BaseModel):
    code: str
    name: str | None


class UpcomingSession(BaseModel):
    id: str
    regency: str
    number: int
    days: list[date]
    venue: str
    capacity: int
    seats_taken: int
    districts: list[SessionDistrict] = Field(description="Kecamatan of the cooperatives seated in it")


class ProblemNote(BaseModel):
    service: str
    code: Literal["service_unavailable", "service_timeout"]
    detail: str


class ProgressOut(BaseModel):
    regency: str | None = Field(description="null: the whole province")
    name: str | None = Field(description="The regency's name")
    area_level: Literal["district", "regency"]
    generated_at: datetime
    totals: Figures = Field(description="Each cooperative and participant once")
    areas: list[Area] = Field(description="Per kecamatan (every current one) or per regency, by code; a cooperative "
                                          "serving two kecamatan counts in both")
    upcoming_sessions: list[UpcomingSession] | None = Field(
        description="Published sessions not closed whose last day is today or later, soonest first (at most 20); "
                    f"{NULL_WHEN_DOWN}")
    problems: list[ProblemNote]
