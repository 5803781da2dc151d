"""Attendance: invitations' QR claims, check-in scans judged one by one, and who completes a session.

A participant shows the QR code of their invitation; a trainer's phone scans it, often without
signal, and uploads its scans later in batches. Each scan carries the phone's own nonce, so an
upload sent twice counts once. A scan counts for a (participant, session, day) once; its day is
the day of ``scanned_at`` in Asia/Jakarta, whatever the server's or the phone's zone. An operator
may set a day present or absent by hand, and that word stands over any scan uploaded later.
"""
from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum
from zoneinfo import ZoneInfo

JAKARTA = ZoneInfo("Asia/Jakarta")
# A phone's clock may run a little fast; a scan further ahead than this claims a day not yet come.
CLOCK_TOLERANCE = timedelta(minutes=10)


def jakarta_day(moment: datetime) -> date:
    return moment.astimezone(JAKARTA).date()


@dataclass(frozen=True)
class QrClaims:
    """What an invitation's QR code says, once its signature is verified: never a name or a NIK."""

    participant_id: uuid.UUID
    session_id: uuid.UUID
    issued_at: datetime
    key_id: int


class ScanResult(str, Enum):
    RECORDED = "recorded"  # counted: the first scan of this participant on this day of the session
    DUPLICATE = "duplicate"  # this nonce was uploaded before (a retried upload): nothing counted again
    ALREADY_PRESENT = "already_present"  # a valid scan, but the day was already counted
    OVERRULED_BY_OPERATOR = "overruled_by_operator"  # an operator set this day absent by hand; it stays so
    WRONG_SESSION = "wrong_session"  # the participant does not sit in the session being checked in
    WRONG_DAY = "wrong_day"  # scanned on a day that is not one of the session's days
    INVALID_SIGNATURE = "invalid_signature"  # not a QR code this service signed (or its key was retired)
    OUT_OF_SCOPE = "out_of_scope"  # the phone's token does not cover this session, venue or day
    SESSION_CLOSED = "session_closed"  # the session is closed: its attendance is final

    @property
    def accepted(self) -> bool:
        """A valid scan of a participant at their session on one of its days (its nonce is kept)."""
        return self in ACCEPTED


ACCEPTED = frozenset({ScanResult.RECORDED, ScanResult.ALREADY_PRESENT, ScanResult.OVERRULED_BY_OPERATOR})


@dataclass(frozen=True)
class DeviceScope:
    """What a check-in phone's token covers (from the gateway); a limit left None does not limit."""

    regency: str
    venue_id: uuid.UUID | None = None
    session_id: uuid.UUID | None = None
    valid_from: date | None = None
    valid_until: date | None = None

    def covers_session(self, session: "SessionFacts") -> bool:
        return session.regency == self.regency and self.venue_id in (None, session.venue_id) \
            and self.session_id in (None, session.id)

    def covers_day(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_until is None or day <= self.valid_until)


@dataclass(frozen=True)
class SessionFacts:
    id: uuid.UUID
    programme_id: uuid.UUID
    regency: str
    venue_id: uuid.UUID
    days: tuple[date, ...]
    closed: bool


@dataclass(frozen=True)
class Verdict:
    """How one scan was judged; ``session_id`` and ``day`` are set once they are known."""

    result: ScanResult
    session_id: uuid.UUID | None = None
    day: date | None = None


def checked_session(claims: QrClaims, asked_session: uuid.UUID | None, scope: DeviceScope) -> uuid.UUID:
    """The session a scan checks in to: the one the phone names for the scan, else the one its
    token is limited to, else the one on the invitation."""
    return asked_session or scope.session_id or claims.session_id


def judge_scan(*, claims: QrClaims | None, asked_session: uuid.UUID | None, scanned_at: datetime,
               scope: DeviceScope, sessions: Mapping[uuid.UUID, SessionFacts],
               seated: Collection[tuple[uuid.UUID, uuid.UUID]], now: datetime) -> Verdict:
    """Judge a scan whose nonce is new, before anything is recorded.

    ``sessions`` holds the sessions scans check in to (those that exist), ``seated`` the
    (participant, session) pairs of the published plans. A participant whom a re-plan moved is
    welcome in their new session with their old invitation: the signature proves who they are,
    the plan says where they sit.
    """
    if claims is None:
        return Verdict(ScanResult.INVALID_SIGNATURE)
    if asked_session is not None and scope.session_id not in (None, asked_session):
        return Verdict(ScanResult.OUT_OF_SCOPE)
    target = checked_session(claims, asked_session, scope)
    session = sessions.get(target)
    if session is None:
        # Only the invitation named it: the session it invited to is gone (a re-plan emptied it).
        named_by_phone = asked_session is not None or scope.session_id is not None
        return Verdict(ScanResult.OUT_OF_SCOPE if named_by_phone else ScanResult.WRONG_SESSION)
    day = jakarta_day(scanned_at)
    if not scope.covers_session(session) or not scope.covers_day(day):
        return Verdict(ScanResult.OUT_OF_SCOPE, session.id, day)
    if session.closed:
        return Verdict(ScanResult.SESSION_CLOSED, session.id, day)
    if (claims.participant_id, session.id) not in seated:
        return Verdict(ScanResult.WRONG_SESSION, session.id, day)
    if day not in session.days or scanned_at > now + CLOCK_TOLERANCE:
        return Verdict(ScanResult.WRONG_DAY, session.id, day)
    return Verdict(ScanResult.RECORDED, session.id, day)


# -- completion ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    participant_id: uuid.UUID
    days_attended: int
    complete: bool


def outcomes(seated: Collection[uuid.UUID], present_days: Mapping[uuid.UUID, Collection[date]],
             session_days: Collection[date], min_attendance_days: int) -> list[Outcome]:
    """Each participant seated in a closing session, complete if they attended at least
    ``min_attendance_days`` of its days (a day set absent by an operator does not count)."""
    days = set(session_days)
    return [Outcome(participant, attended, attended >= min_attendance_days)
            for participant in sorted(seated)
            for attended in [len(days & set(present_days.get(participant, ())))]]
