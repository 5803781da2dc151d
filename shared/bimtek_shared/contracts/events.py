"""Payload schemas of the catalogued events, one model per (type, version).

Rules for evolving them (also in docs/events.md): adding an optional field is a compatible change
within a version; renaming, removing or retyping a field, or making one required, is a new version
(``...V2``) published beside the old one until every consumer reads the new one.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .envelope import DISTRICT_CODE_PATTERN, VILLAGE_CODE_PATTERN


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ParticipantRegisteredV1(Payload):
    participant_id: uuid.UUID
    participant_code: str = Field(min_length=4, max_length=16)
    full_name: str = Field(min_length=1, max_length=200)
    sex: Literal["L", "P"]
    position_group: Literal["pengurus", "pengawas"]
    position: str = Field(min_length=1, max_length=80)
    cooperative_id: uuid.UUID | None = None
    registered_at: datetime


PositionGroupName = Literal["pengurus", "pengawas"]
WithdrawalReason = Literal["resigned", "ineligible", "deceased", "registered_in_error", "other", "substituted"]


class ParticipantState(Payload):
    """A participant as it is after a change (the regency is the envelope's). Complete on its own:
    a consumer that has not seen the participant yet can keep it from this alone."""

    participant_id: uuid.UUID
    version: int = Field(ge=2, description="Raised by every change (registration is 1); keep the highest seen "
                                           "and ignore an event older than it")
    full_name: str = Field(min_length=1, max_length=200)
    sex: Literal["L", "P"]
    position_group: PositionGroupName
    position: str = Field(min_length=1, max_length=80)
    cooperative_id: uuid.UUID | None = None
    registered_at: datetime


class ParticipantUpdatedV1(ParticipantState):
    changed: list[Literal["full_name", "phone", "position", "cooperative_id", "nik", "sex", "birth_date"]] = Field(
        min_length=1, description="The fields that changed; their values travel only where listed above")
    updated_at: datetime


class ParticipantWithdrawnV1(ParticipantState):
    reason: WithdrawalReason = Field(description="`substituted` when a substitution withdrew them")
    replaced_by: uuid.UUID | None = Field(default=None, description="The participant who took their place")
    withdrawn_at: datetime


class ParticipantSubstitutedV1(Payload):
    """Who took whose place: the same cooperative and position (regency: the envelope's)."""

    replaced_participant_id: uuid.UUID
    replacement_participant_id: uuid.UUID
    cooperative_id: uuid.UUID | None = None
    position_group: PositionGroupName
    position: str = Field(min_length=1, max_length=80)
    substituted_at: datetime


class ParticipantErasedV1(Payload):
    """A person's data was erased on their request; only what counts is left (regency: the envelope's)."""

    participant_id: uuid.UUID
    version: int = Field(ge=2)
    position_group: PositionGroupName
    cooperative_id: uuid.UUID | None = None
    registered_at: datetime
    erased_at: datetime


class ParticipantImportRequestedV1(Payload):
    job_id: uuid.UUID
    total: int = Field(ge=0, description="Rows sent; 0 for a file, whose rows are counted when it is read")


MAX_SEATS_PER_EVENT = 1_000  # a published regency's seats in two or three events
MAX_IMPORTED_PER_EVENT = 5_000


class ImportedParticipant(Payload):
    """One participant of a ``participants.imported`` batch: what consumers keep, never the NIK."""

    participant_id: uuid.UUID
    full_name: str = Field(min_length=1, max_length=200)
    sex: Literal["L", "P"]
    position_group: Literal["pengurus", "pengawas"]
    position: str = Field(min_length=1, max_length=80)
    cooperative_id: uuid.UUID | None = None
    registered_at: datetime


class ParticipantsImportedV1(Payload):
    """Participants of one regency registered together by a bulk import (one chunk of its rows)."""

    job_id: uuid.UUID
    participants: list[ImportedParticipant] = Field(min_length=1, max_length=MAX_IMPORTED_PER_EVENT)


VillageCode = Annotated[str, Field(pattern=VILLAGE_CODE_PATTERN)]
DistrictCode = Annotated[str, Field(pattern=DISTRICT_CODE_PATTERN)]


class CooperativeRegisteredV1(Payload):
    """The cooperative's regency is the envelope's ``regency``."""

    cooperative_id: uuid.UUID
    name: str = Field(min_length=1, max_length=200)
    villages: list[VillageCode] = Field(min_length=1, description="Codes of the desa/kelurahan it serves")
    districts: list[DistrictCode] = Field(min_length=1, description="Codes of the kecamatan of those villages")
    version: int = Field(ge=1, description="Raised by every change; keep the highest seen")
    registered_at: datetime
    # Added within v1 (optional: older events lack them): the names a certificate prints.
    village_names: dict[VillageCode, str] | None = Field(default=None, description="Desa/kelurahan name by code")
    district_names: dict[DistrictCode, str] | None = Field(default=None, description="Kecamatan name by code")
    regency_name: str | None = Field(default=None, max_length=100, description='e.g. "Kabupaten Jombang"')


class CooperativeUpdatedV1(Payload):
    """The cooperative as it is after the change (regency: the envelope's), and what changed."""

    cooperative_id: uuid.UUID
    name: str = Field(min_length=1, max_length=200)
    villages: list[VillageCode] = Field(min_length=1)
    districts: list[DistrictCode] = Field(min_length=1)
    version: int = Field(ge=2, description="Raised by every change; an older version than one seen is stale")
    changed: list[Literal["name", "villages", "legal_entity_number", "contact_phone", "contact_email"]] = Field(
        min_length=1)
    updated_at: datetime
    village_names: dict[VillageCode, str] | None = Field(default=None, description="Desa/kelurahan name by code")
    district_names: dict[DistrictCode, str] | None = Field(default=None, description="Kecamatan name by code")
    regency_name: str | None = Field(default=None, max_length=100)


# -- scheduling: programmes, sessions and who sits where (ids and figures; a venue's name, no person's) -
SessionChange = Literal["days", "venue", "resource_persons", "cooperatives", "participants"]


class ProgrammePublishedV1(Payload):
    """A programme's plan was published (first time) or re-published after a re-plan
    (``revision`` 2, 3, ...); the regency is the envelope's."""

    programme_id: uuid.UUID
    plan_id: uuid.UUID
    revision: int = Field(ge=1, description="1 at the first publication, raised by every re-plan; keep the highest")
    days_per_session: int = Field(ge=1)
    min_attendance_days: int = Field(ge=1, description="Days a participant must attend to complete the programme")
    window_start: date
    window_end: date
    sessions: int = Field(ge=0)
    participants: int = Field(ge=0, description="Participants placed in a session")
    published_at: datetime


class SessionState(Payload):
    """A session as it is now (regency: the envelope's). Complete on its own."""

    session_id: uuid.UUID
    programme_id: uuid.UUID
    number: int = Field(ge=1, description="1, 2, ... in date order within the programme")
    days: list[date] = Field(min_length=1)
    venue_id: uuid.UUID
    venue_name: str | None = Field(default=None, max_length=200,
                                   description="Added within v1 (older events lack it): what a certificate prints")
    resource_person_ids: list[uuid.UUID]
    cooperative_ids: list[uuid.UUID]
    participants: int = Field(ge=0)
    version: int = Field(ge=1, description="Raised by every change of the session; keep the highest")


class SessionScheduledV1(SessionState):
    scheduled_at: datetime


class SessionRescheduledV1(SessionState):
    changed: list[SessionChange] = Field(description="What changed; empty when the session was cancelled")
    cancelled: bool = Field(default=False, description="A re-plan emptied it: nobody attends it any more")
    rescheduled_at: datetime


class AssignedSeat(Payload):
    """One participant's seat in a ``participants.assigned`` event."""

    participant_id: uuid.UUID
    session_id: uuid.UUID
    cooperative_id: uuid.UUID


class ParticipantsAssignedV1(Payload):
    """Participants' sessions in a programme, as one plan revision placed them: on publication, and
    whenever a re-plan places or moves some (one chunk of them per event)."""

    programme_id: uuid.UUID
    revision: int = Field(ge=1, description="The plan revision that placed them; keep the highest per participant")
    assigned_at: datetime
    seats: list[AssignedSeat] = Field(min_length=1, max_length=MAX_SEATS_PER_EVENT)


class ParticipantsUnassignedV1(Payload):
    """Participants a re-plan left without a session in a programme (withdrawn, erased, or their
    cooperative taken out of it), one chunk of them per event. Their seat in an earlier revision no
    longer holds; a later revision that places them again wins."""

    programme_id: uuid.UUID
    revision: int = Field(ge=1, description="The plan revision that unseated them; keep the highest per participant")
    unassigned_at: datetime
    participant_ids: list[uuid.UUID] = Field(min_length=1, max_length=MAX_SEATS_PER_EVENT)


class ProgrammeReplanRequestedV1(Payload):
    """Scheduling's own reminder that a published programme's inputs changed (a late registration, a
    withdrawal, a new cooperative, a venue or resource person's days): re-plan it."""

    programme_id: uuid.UUID
    requested: int = Field(ge=1, description="The programme's request counter when this was sent")


# -- scheduling: attendance and completion (ids, days and figures; never a name) ----------------------
MAX_ATTENDANCE_RECORDS_PER_EVENT = 5_000  # a session's seats at most: one upload or one close never exceeds it


class AttendanceRecord(Payload):
    participant_id: uuid.UUID
    day: date = Field(description="The session day, in Asia/Jakarta")
    present: bool = Field(description="False only when an operator set the day absent")


class AttendanceRecordedV1(Payload):
    """Attendance of one session changed (regency: the envelope's): the days a check-in upload
    counted for the first time, or one day an operator set by hand (who, and why)."""

    session_id: uuid.UUID
    programme_id: uuid.UUID
    source: Literal["check_in", "operator"]
    recorded_by: str = Field(min_length=1, max_length=64,
                             description="The device token's id (check_in) or the operator's user id")
    recorded_by_role: str = Field(min_length=1, max_length=40)
    reason: str | None = Field(default=None, max_length=200, description="The operator's reason")
    records: list[AttendanceRecord] = Field(min_length=1, max_length=MAX_ATTENDANCE_RECORDS_PER_EVENT)
    recorded_at: datetime


class SessionClosedV1(Payload):
    """A session was closed: its attendance is final, and each of its participants completed it
    (``participant.completed``, in the same transaction) or did not."""

    session_id: uuid.UUID
    programme_id: uuid.UUID
    days: list[date] = Field(min_length=1)
    participants: int = Field(ge=0, description="Participants seated in it when it closed")
    completed: int = Field(ge=0, description="How many of them completed: one participant.completed each")
    not_completed: int = Field(ge=0)
    closed_by: str = Field(min_length=1, max_length=64, description="The operator's user id")
    closed_at: datetime


class ParticipantCompletedV1(Payload):
    """A participant attended enough days of their session to complete the programme: what a
    certificate states (the name and position are on certificates' roster already)."""

    participant_id: uuid.UUID
    session_id: uuid.UUID
    programme_id: uuid.UUID
    programme_title: str = Field(min_length=1, max_length=200)
    session_days: list[date] = Field(min_length=1, description="The days the session was held")
    days_attended: int = Field(ge=1)
    min_attendance_days: int = Field(ge=1)
    jp_total: int = Field(ge=1, description="Jam pelajaran (JP) of the programme's curriculum")
    completed_at: datetime


class CertificateIssuedV1(Payload):
    """A certificate was issued for a completion: ids and its number only (the verification
    endpoint shows the rest to whoever holds its public id)."""

    certificate_id: uuid.UUID
    public_id: str = Field(min_length=22, max_length=32, description="The random id in its verification address")
    number: str = Field(min_length=1, max_length=100)
    version: int = Field(ge=1)
    participant_id: uuid.UUID
    programme_id: uuid.UUID
    session_id: uuid.UUID
    issued_at: datetime


class CertificateReissuedV1(CertificateIssuedV1):
    """A correction (the printed name or position) gave a certificate a new version: the same
    number, a new public id; the version it ``replaces`` is superseded."""

    replaces: uuid.UUID


class CertificateRevokedV1(Payload):
    """An authorised officer revoked a certificate (the reason stays in certificates' history)."""

    certificate_id: uuid.UUID
    public_id: str = Field(min_length=22, max_length=32)
    number: str = Field(min_length=1, max_length=100)
    version: int = Field(ge=1)
    participant_id: uuid.UUID
    programme_id: uuid.UUID
    revoked_by: str = Field(min_length=1, max_length=64, description="The officer's user id")
    revoked_at: datetime


_CERTIFICATE_STANDINGS = {"certificate.issued": (CertificateIssuedV1, "valid"),
                          "certificate.reissued": (CertificateReissuedV1, "valid"),
                          "certificate.revoked": (CertificateRevokedV1, "revoked")}


def certificate_standing(event_type: str, payload: dict[str, Any]) -> dict[str, Any]:
    """What a ``certificate.*`` event says of a participant's certificate for a programme, as its
    consumers keep it: its number, version and status (``valid`` or ``revoked``); the highest
    version wins, and a revocation wins over the issue of the same version."""
    model, status = _CERTIFICATE_STANDINGS[event_type]
    certificate = model.model_validate(payload)
    return {"participant_id": certificate.participant_id, "programme_id": certificate.programme_id,
            "number": certificate.number, "version": certificate.version, "status": status}


def seat_standings(event_type: str, payload: dict[str, Any]) -> list[dict[str, Any]]:
    """What a ``participants.assigned`` or ``participants.unassigned`` event says of each
    participant's seat in its programme, as its consumers keep them: the highest ``revision`` per
    participant and programme wins, and an unassignment is a seat with no session."""
    if event_type == "participants.unassigned":
        unassigned = ParticipantsUnassignedV1.model_validate(payload)
        return [{"participant_id": participant_id, "programme_id": unassigned.programme_id, "session_id": None,
                 "revision": unassigned.revision} for participant_id in unassigned.participant_ids]
    assigned = ParticipantsAssignedV1.model_validate(payload)
    return [{"participant_id": seat.participant_id, "programme_id": assigned.programme_id,
             "session_id": seat.session_id, "revision": assigned.revision} for seat in assigned.seats]
