"""Plans (previews and the published one) and their sessions as the API shows them."""
from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class NamedRef(BaseModel):
    id: uuid.UUID
    name: str


class CooperativeRef(BaseModel):
    id: uuid.UUID
    name: str | None
    district: str | None = Field(description="Its kecamatan's code")


class ReasonOut(BaseModel):
    code: str = Field(description="e.g. district_whole, district_part, neighbours, code_order, not_neighbours, "
                                  "team_split, late_member, late_cooperative, pinned, moved, locked, kept, "
                                  "earliest_day, resource_persons")
    params: dict[str, Any]


class SessionOut(BaseModel):
    id: uuid.UUID
    programme_id: uuid.UUID
    regency: str
    number: int = Field(description="1, 2, ... in date order within the programme")
    days: list[date]
    venue: NamedRef
    resource_persons: list[NamedRef]
    cooperatives: list[CooperativeRef]
    participants: int
    why: list[str] = Field(description="Why it holds whom, when and with whom, in Bahasa Indonesia")
    reasons: list[ReasonOut] = Field(description="The same as `why`, as codes and parameters for other languages")


class PublishedSessionOut(SessionOut):
    status: Literal["scheduled", "closed"]
    locked: bool = Field(description="A locked session keeps its days, venue, resource persons and people "
                                     "through every re-plan")
    version: int = Field(description="Raised by every change")


class TeamInSession(BaseModel):
    cooperative_id: uuid.UUID
    name: str | None
    districts: list[str]
    participants: int = Field(description="Its people seated in this session")


class SessionDetailOut(PublishedSessionOut):
    teams: list[TeamInSession]
    seated: int = Field(description="Participants seated in this session")


class FiguresOut(BaseModel):
    sessions: int
    sessions_lower_bound: int = Field(description="Participants divided by the largest venue's seats, rounded up")
    districts_split: int = Field(description="Kecamatan whose cooperatives sit in more than one session")
    shared_sessions_with_non_neighbours: int = Field(description="Sessions mixing kecamatan that are not neighbours")
    finish: date | None = Field(description="The last day of the last session")


class UnplacedOut(BaseModel):
    cooperative_id: uuid.UUID
    cooperative: CooperativeRef
    reason: str = Field(description="e.g. no_capacity_in_window, team_larger_than_venue")
    params: dict[str, Any]


class NotPlannableOut(BaseModel):
    without_cooperative: int = Field(description="Waiting participants registered without a cooperative")
    cooperative_not_known_yet: int = Field(description="Waiting participants whose cooperative's registration "
                                                       "has not reached scheduling yet")


class StoredPlanFields(BaseModel):
    """What every answer about a stored plan (a preview or a published one) says of it."""
    id: uuid.UUID
    programme_id: uuid.UUID
    regency: str
    status: Literal["preview", "published", "superseded"]
    revision: int | None
    created_at: datetime
    published_at: datetime | None
    figures: FiguresOut | None
    participants: int = Field(description="Participants seated by this plan")
    not_plannable: NotPlannableOut


class PlanOut(StoredPlanFields):
    kind: Literal["preview", "replan"]
    unplaced: list[UnplacedOut] = Field(description="Cooperatives no session could hold, and why")
    moved_cooperatives: list[uuid.UUID] = Field(description="On a re-plan: cooperatives whose session changed")


class PlanPreviewOut(PlanOut):
    sessions: list[SessionOut]


class PublishedPlanOut(PlanOut):
    replan_pending: bool
    sessions: list[PublishedSessionOut] = Field(description="As they stand now")


class PlanChangesOut(BaseModel):
    sessions_scheduled: list[uuid.UUID]
    sessions_rescheduled: list[dict[str, Any]]
    sessions_cancelled: list[uuid.UUID]
    participants_moved: int = Field(description="Participants seated for the first time or moved")
    participants_unseated: int


class ReplannedPlanOut(PublishedPlanOut):
    changes: PlanChangesOut


class PublicationIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"preview_id": "0b7f3c9e-2f5a-4d8e-9c1b-7a6e5d4c3b2a"}]})

    preview_id: uuid.UUID = Field(description="The preview to publish, exactly as it was shown")


class SessionMoveIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"session_id": "3c2b1a09-8f7e-4d6c-b5a4-938271605f4e"}]})

    session_id: uuid.UUID = Field(description="A session of the published plan of the cooperative's regency")


# -- several programmes together -----------------------------------------------------------------
MAX_PROGRAMMES_PLANNED_TOGETHER = 100  # a province has at most a few dozen regencies


class PlanTogetherIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"programme_ids": ["6f1c2a7e-3f0b-4c55-9d1e-2b8a1f6c9d30", "0b7f3c9e-2f5a-4d8e-9c1b-7a6e5d4c3b2a"]}]})

    programme_ids: list[uuid.UUID] = Field(min_length=1, max_length=MAX_PROGRAMMES_PLANNED_TOGETHER,
                                           description="One programme per regency, each once")


class PublishTogetherIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"preview_ids": ["3c2b1a09-8f7e-4d6c-b5a4-938271605f4e", "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"]}]})

    preview_ids: list[uuid.UUID] = Field(min_length=1, max_length=MAX_PROGRAMMES_PLANNED_TOGETHER,
                                         description="One preview per programme, each exactly as it was shown")


class PlanSummaryOut(StoredPlanFields):
    """A programme's plan in a plan of many programmes: its figures, not its sessions (one read away)."""
    session_count: int
    unplaced_count: int = Field(description="Cooperatives no session could hold (the preview lists them)")


class PlanPreviewsOut(BaseModel):
    previews: list[PlanSummaryOut] = Field(description="In the order the programmes were named")


class PublishedPlansOut(BaseModel):
    plans: list[PlanSummaryOut] = Field(description="In the order the previews were named")
