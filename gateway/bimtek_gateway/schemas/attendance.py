"""Invitations, check-in uploads, attendance and closing sessions as the API takes and shows them."""
from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

MAX_SCANS_PER_UPLOAD = 500
NONCE_PATTERN = r"^[A-Za-z0-9_-]{8,64}$"
ScanResultName = Literal["recorded", "duplicate", "already_present", "overruled_by_operator", "wrong_session",
                         "wrong_day", "invalid_signature", "out_of_scope", "session_closed"]


# -- invitations --------------------------------------------------------------------------------------
class InvitationProgramme(BaseModel):
    id: uuid.UUID
    title: str


class InvitationSession(BaseModel):
    id: uuid.UUID
    number: int
    days: list[date]
    status: Literal["scheduled", "closed"]


class InvitationVenue(BaseModel):
    id: uuid.UUID
    name: str
    address: str | None


class InvitedParticipant(BaseModel):
    id: uuid.UUID
    full_name: str | None
    position: str | None
    cooperative: str | None = Field(description="The cooperative's name")


class InvitationOut(BaseModel):
    programme: InvitationProgramme
    session: InvitationSession
    venue: InvitationVenue
    participant: InvitedParticipant
    qr: str = Field(description="What the QR code holds: a token signed by scheduling (Ed25519) with the "
                                "participant's and the session's ids and the time they were seated, never a "
                                "name or a NIK. The same until a re-plan moves them.")
    issued_at: datetime


class InvitationsOut(BaseModel):
    participant_id: uuid.UUID
    invitations: list[InvitationOut] = Field(description="One per programme the participant is seated in")


# -- check-ins ------------------------------------------------------------------------------------------
class ScanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    nonce: str = Field(pattern=NONCE_PATTERN,
                       description="Made by the phone once per scan (a UUID will do) and sent with it on every "
                                   "upload: a scan uploaded again answers `duplicate` and counts nothing twice")
    qr: str = Field(min_length=1, max_length=512, description="The invitation's QR code as read")
    scanned_at: AwareDatetime = Field(description="When it was scanned, with the phone's zone; its day is counted "
                                                  "in Asia/Jakarta")
    session_id: uuid.UUID | None = Field(default=None, description="The session being checked in, if the phone "
                                                                   "was set to one; else the token's, else the "
                                                                   "invitation's")


class CheckInIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"scans": [
        {"nonce": "5f0c6a4e-8e55-4d0b-9c3e-6b1d2a9f7e01", "qr": "BKI1.AQ...", "scanned_at": "2025-10-06T07:42:10+07:00",
         "session_id": "3c2b1a09-8f7e-4d6c-b5a4-938271605f4e"}]}]})

    scans: list[ScanIn] = Field(min_length=1, max_length=MAX_SCANS_PER_UPLOAD,
                                description="In any order: scans made offline may be uploaded days later")


class ScanResultOut(BaseModel):
    nonce: str
    result: ScanResultName = Field(description=(
        "`recorded`: counted; `duplicate`: this nonce was uploaded before (`first_result` says what it came to); "
        "`already_present`: a valid scan of a day already counted; `overruled_by_operator`: an operator set the "
        "day absent; `wrong_session`, `wrong_day`, `invalid_signature`, `out_of_scope` (the device token does "
        "not cover the session, venue or day), `session_closed`: refused, nothing counted"))
    session_id: uuid.UUID | None
    day: date | None = Field(description="The day it counts for, in Asia/Jakarta")
    first_result: ScanResultName | None = None


class CheckInOut(BaseModel):
    results: list[ScanResultOut] = Field(description="One per scan, in the order sent")
    counts: dict[ScanResultName, int]


# -- attendance ---------------------------------------------------------------------------------------------
class AttendanceDayIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={"examples": [
        {"day": "2025-10-06", "present": True, "reason": "Ponsel pelatih mati; hadir menurut daftar hadir kertas"}]})

    day: date = Field(description="One of the session's days")
    present: bool
    reason: str = Field(min_length=1, max_length=200, description="Why, for the record (no personal data)")


class AttendanceDayOut(BaseModel):
    day: date
    present: bool
    source: Literal["scan", "operator"]


class ParticipantAttendanceOut(BaseModel):
    session_id: uuid.UUID
    participant_id: uuid.UUID
    days: list[AttendanceDayOut]
    days_attended: int


class SeatedAttendanceOut(BaseModel):
    participant_id: uuid.UUID
    full_name: str | None
    position: str | None
    cooperative: str | None
    days: list[AttendanceDayOut]
    days_attended: int
    complete: bool | None = Field(description="Once the session is closed: whether they completed it")


class SessionAttendanceOut(BaseModel):
    session_id: uuid.UUID
    days: list[date]
    status: Literal["scheduled", "closed"]
    min_attendance_days: int
    participants: list[SeatedAttendanceOut]


class OutcomeOut(BaseModel):
    participant_id: uuid.UUID
    days_attended: int


class SessionClosureOut(BaseModel):
    session_id: uuid.UUID
    programme_id: uuid.UUID
    status: Literal["closed"]
    closed_at: datetime
    closed_by: str
    min_attendance_days: int
    completed: list[OutcomeOut] = Field(description="Attended at least `min_attendance_days`: each is announced "
                                                    "as `participant.completed`")
    not_completed: list[OutcomeOut]
