"""Programmes, venues and resource persons as the API takes and shows them."""
from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from bimtek_shared.contracts.envelope import DISTRICT_CODE_PATTERN, REGENCY_CODE_PATTERN

MAX_TOPICS = 40
MAX_RANGES = 60
DISTRICT = Annotated[str, Field(pattern=DISTRICT_CODE_PATTERN, examples=["35.17.09"])]
REGENCY_FOR_WRITES = "Province administrators must name it; anyone else may leave it out or name their own."
OCTOBER_2025 = [{"start": "2025-10-01", "end": "2025-10-31"}]


class DateRangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: date
    end: date = Field(description="Included")


class DateRangeOut(BaseModel):
    start: date
    end: date


class TopicIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    topic: str = Field(min_length=1, max_length=200, description="As resource persons' topics name it")
    hours: int = Field(ge=1, le=100, description="Jam pelajaran (JP)")


class TopicOut(BaseModel):
    topic: str
    hours: int


# -- programmes --------------------------------------------------------------------------------------
class ProgrammeChangesIn(BaseModel):
    """PATCH: only the fields sent change; `neighbours: null` clears the list. The curriculum, the
    days per session and the attendance required are fixed once the plan is published (409); other
    changes the plan depends on (window, neighbours) re-plan it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True,
                              json_schema_extra={"examples": [{"window_end": "2025-11-14"}]})

    title: str | None = Field(default=None, min_length=1, max_length=200)
    topics: list[TopicIn] | None = Field(default=None, min_length=1, max_length=MAX_TOPICS)
    days_per_session: int | None = Field(default=None, ge=1, le=10)
    window_start: date | None = None
    window_end: date | None = None
    min_attendance_days: int | None = Field(default=None, ge=1, le=10)
    neighbours: list[tuple[DISTRICT, DISTRICT]] | None = Field(default=None, max_length=500)


class ProgrammeIn(BaseModel):
    """A training programme of one regency: its curriculum, the days of each session, the date
    window and the days a participant must attend to complete."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={"examples": [{
        "title": "Bimtek Perkoperasian KDMP Kabupaten Jombang 2025",
        "topics": [{"topic": "Perkoperasian dan tata kelola KDMP", "hours": 4},
                   {"topic": "Manajemen usaha dan keuangan koperasi", "hours": 4}],
        "days_per_session": 1, "window_start": "2025-10-01", "window_end": "2025-10-31", "min_attendance_days": 1}]})

    regency: str | None = Field(default=None, pattern=REGENCY_CODE_PATTERN, description=REGENCY_FOR_WRITES)
    title: str = Field(min_length=1, max_length=200)
    topics: list[TopicIn] = Field(min_length=1, max_length=MAX_TOPICS, description="In curriculum order")
    days_per_session: int = Field(ge=1, le=10)
    window_start: date
    window_end: date = Field(description="The last day a session may take place")
    min_attendance_days: int = Field(ge=1, le=10, description="At most days_per_session")
    neighbours: list[tuple[DISTRICT, DISTRICT]] = Field(
        default_factory=list, max_length=500,
        description="Pairs of kecamatan codes that are neighbours; small kecamatan sharing a session are "
                    "chosen from these. Without it, kecamatan next to each other in code order count as neighbours.")


class ProgrammeSummary(BaseModel):
    id: uuid.UUID
    regency: str
    title: str
    topics: list[TopicOut]
    total_hours: int = Field(description="JP of the whole curriculum")
    days_per_session: int
    window_start: date
    window_end: date
    min_attendance_days: int
    neighbours: list[tuple[str, str]]
    published: bool = Field(description="Whether a plan is published")
    version: int
    created_at: datetime
    updated_at: datetime


class ProgrammePlanState(BaseModel):
    plan_id: uuid.UUID | None
    revision: int | None = Field(description="1 at publication, raised by each re-plan that changed something")
    published_at: datetime | None
    replan_pending: bool = Field(description="Changes arrived that the published plan has not followed yet; "
                                             "a re-plan runs on its own within seconds")


class ProgrammeOut(ProgrammeSummary):
    plan: ProgrammePlanState


# -- venues ------------------------------------------------------------------------------------------
class VenueChangesIn(BaseModel):
    """PATCH: only the fields sent change. A venue of a published plan that loses a day or seats
    re-plans it (only its sessions on those days move)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={"examples": [
        {"available": [{"start": "2025-10-01", "end": "2025-10-14"}, {"start": "2025-10-16", "end": "2025-10-31"}]}]})

    name: str | None = Field(default=None, min_length=1, max_length=200)
    capacity: int | None = Field(default=None, ge=1, le=5000, description="Seats")
    available: list[DateRangeIn] | None = Field(default=None, max_length=MAX_RANGES,
                                                description="Every day it may be used (replaces the list)")


class VenueIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={"examples": [
        {"name": "Ruang Bung Tomo", "capacity": 250, "available": OCTOBER_2025}]})

    regency: str | None = Field(default=None, pattern=REGENCY_CODE_PATTERN, description=REGENCY_FOR_WRITES)
    name: str = Field(min_length=1, max_length=200)
    capacity: int = Field(ge=1, le=5000, description="Seats")
    available: list[DateRangeIn] = Field(max_length=MAX_RANGES,
                                         description="The days it may be used; weekends and holidays never are")


class VenueOut(BaseModel):
    id: uuid.UUID
    regency: str
    name: str
    capacity: int
    available: list[DateRangeOut]
    version: int
    created_at: datetime
    updated_at: datetime


# -- resource persons --------------------------------------------------------------------------------
TopicName = Annotated[str, Field(min_length=1, max_length=200)]


class ResourcePersonChangesIn(BaseModel):
    """PATCH: only the fields sent change. Every published plan that booked them and no longer fits
    their topics or days re-plans."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={"examples": [
        {"available": [{"start": "2025-10-01", "end": "2025-10-20"}]}]})

    name: str | None = Field(default=None, min_length=1, max_length=200)
    topics: list[TopicName] | None = Field(default=None, min_length=1, max_length=MAX_TOPICS)
    available: list[DateRangeIn] | None = Field(default=None, max_length=MAX_RANGES)


class ResourcePersonIn(BaseModel):
    """A narasumber of the provincial training unit, shared by every regency (never booked twice on a day)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={"examples": [
        {"name": "Dra. Sri Wahyuni, M.M.", "topics": ["Perkoperasian dan tata kelola KDMP",
                                                     "Manajemen usaha dan keuangan koperasi"],
         "available": OCTOBER_2025}]})

    name: str = Field(min_length=1, max_length=200)
    topics: list[TopicName] = Field(min_length=1, max_length=MAX_TOPICS,
                                    description="Named as programmes' curricula name them")
    available: list[DateRangeIn] = Field(max_length=MAX_RANGES)


class ResourcePersonOut(BaseModel):
    id: uuid.UUID
    name: str
    topics: list[str]
    available: list[DateRangeOut]
    version: int
    created_at: datetime
    updated_at: datetime
