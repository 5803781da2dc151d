"""How a check-in scan is judged, and who completes a session: the rules without a database."""
from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta, timezone

import pytest

from scheduling.domain.attendance import (
    JAKARTA, DeviceScope, QrClaims, ScanResult, SessionFacts, checked_session, jakarta_day, judge_scan, outcomes,
)

REGENCY = "35.17"
VENUE, OTHER_VENUE = uuid.uuid4(), uuid.uuid4()
MONDAY, TUESDAY = date(2025, 10, 6), date(2025, 10, 7)
SESSION = SessionFacts(id=uuid.uuid4(), programme_id=uuid.uuid4(), regency=REGENCY, venue_id=VENUE,
                       days=(MONDAY, TUESDAY), closed=False)
NEXT = SessionFacts(id=uuid.uuid4(), programme_id=SESSION.programme_id, regency=REGENCY, venue_id=VENUE,
                    days=(date(2025, 10, 8), date(2025, 10, 9)), closed=False)
CLOSED = SessionFacts(id=uuid.uuid4(), programme_id=SESSION.programme_id, regency=REGENCY, venue_id=VENUE,
                      days=(MONDAY, TUESDAY), closed=True)
ELSEWHERE = SessionFacts(id=uuid.uuid4(), programme_id=SESSION.programme_id, regency=REGENCY, venue_id=OTHER_VENUE,
                         days=(MONDAY, TUESDAY), closed=False)
PERSON = uuid.uuid4()
NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def claims(session: SessionFacts = SESSION) -> QrClaims:
    return QrClaims(participant_id=PERSON, session_id=session.id, issued_at=NOW - timedelta(days=90), key_id=1)


def jakarta(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), JAKARTA)


def judge(*, qr: QrClaims | None = None, asked: uuid.UUID | None = None, scanned_at: datetime | None = None,
          scope: DeviceScope | None = None, seated_in: tuple[SessionFacts, ...] = (SESSION,),
          now: datetime = NOW) -> ScanResult:
    sessions = {s.id: s for s in (SESSION, NEXT, CLOSED, ELSEWHERE)}
    return judge_scan(claims=qr, asked_session=asked, scanned_at=scanned_at or jakarta(MONDAY, 8),
                      scope=scope or DeviceScope(regency=REGENCY, session_id=SESSION.id), sessions=sessions,
                      seated={(PERSON, s.id) for s in seated_in}, now=now).result


CASES = {
    "the right session on its first day": (dict(qr=claims()), ScanResult.RECORDED),
    "on its second day, late at night in Jakarta (still that day)": (
        dict(qr=claims(), scanned_at=jakarta(TUESDAY, 23, 30)), ScanResult.RECORDED),
    "a venue's phone, the session taken from the invitation": (
        dict(qr=claims(), scope=DeviceScope(regency=REGENCY, venue_id=VENUE)), ScanResult.RECORDED),
    "moved by a re-plan: old invitation, new session named by the phone": (
        dict(qr=claims(SESSION), asked=NEXT.id, scope=DeviceScope(regency=REGENCY),
             scanned_at=jakarta(date(2025, 10, 8), 8), seated_in=(NEXT,)), ScanResult.RECORDED),
    "no signature this service made": (dict(qr=None), ScanResult.INVALID_SIGNATURE),
    "an invitation to another session than the phone's": (
        dict(qr=claims(NEXT), scope=DeviceScope(regency=REGENCY, session_id=NEXT.id)), ScanResult.WRONG_SESSION),
    "a participant not seated in the session the phone names": (
        dict(qr=claims(), scope=DeviceScope(regency=REGENCY, session_id=NEXT.id),
             scanned_at=jakarta(date(2025, 10, 8), 8)), ScanResult.WRONG_SESSION),
    "the day before the session": (dict(qr=claims(), scanned_at=jakarta(MONDAY, 6) - timedelta(days=1)),
                                   ScanResult.WRONG_DAY),
    "just after midnight in Jakarta after the last day (still the last day in UTC)": (
        dict(qr=claims(), scanned_at=jakarta(TUESDAY, 0, 30) + timedelta(days=1)), ScanResult.WRONG_DAY),
    "a day the phone's clock has not reached": (
        dict(qr=claims(), now=jakarta(MONDAY, 7).astimezone(timezone.utc), scanned_at=jakarta(TUESDAY, 8)),
        ScanResult.WRONG_DAY),
    "a session the phone's token does not cover": (
        dict(qr=claims(), asked=NEXT.id), ScanResult.OUT_OF_SCOPE),
    "a session at another venue than the phone's": (
        dict(qr=claims(ELSEWHERE), scope=DeviceScope(regency=REGENCY, venue_id=VENUE), seated_in=(ELSEWHERE,)),
        ScanResult.OUT_OF_SCOPE),
    "another regency's phone": (dict(qr=claims(), scope=DeviceScope(regency="35.15")), ScanResult.OUT_OF_SCOPE),
    "a day outside the token's dates": (
        dict(qr=claims(), scope=DeviceScope(regency=REGENCY, valid_from=TUESDAY)), ScanResult.OUT_OF_SCOPE),
    "a session the phone names that does not exist": (
        dict(qr=claims(), asked=uuid.uuid4(), scope=DeviceScope(regency=REGENCY)), ScanResult.OUT_OF_SCOPE),
    "an invitation to a session a re-plan emptied": (
        dict(qr=QrClaims(PERSON, uuid.uuid4(), NOW, 1), scope=DeviceScope(regency=REGENCY)),
        ScanResult.WRONG_SESSION),
    "a closed session": (dict(qr=claims(CLOSED), scope=DeviceScope(regency=REGENCY), seated_in=(CLOSED,)),
                         ScanResult.SESSION_CLOSED),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_scan_is_judged(case: str) -> None:
    arguments, expected = CASES[case]
    assert judge(**arguments) is expected


def test_the_session_checked_in_is_the_phones_choice_first_then_its_tokens_then_the_invitations() -> None:
    qr = claims(SESSION)
    assert checked_session(qr, NEXT.id, DeviceScope(regency=REGENCY, session_id=CLOSED.id)) == NEXT.id
    assert checked_session(qr, None, DeviceScope(regency=REGENCY, session_id=CLOSED.id)) == CLOSED.id
    assert checked_session(qr, None, DeviceScope(regency=REGENCY)) == SESSION.id


def test_days_are_counted_in_jakarta_whatever_zone_the_phone_stamps() -> None:
    assert jakarta_day(datetime(2025, 10, 6, 17, 30, tzinfo=timezone.utc)) == TUESDAY  # 00:30 WIB
    assert jakarta_day(datetime(2025, 10, 6, 9, 0, tzinfo=timezone(timedelta(hours=8)))) == MONDAY  # WITA


def test_only_what_counts_as_a_valid_scan_is_kept_by_its_nonce() -> None:
    accepted = {result for result in ScanResult if result.accepted}
    assert accepted == {ScanResult.RECORDED, ScanResult.ALREADY_PRESENT, ScanResult.OVERRULED_BY_OPERATOR}


def test_a_participant_completes_with_the_minimum_days_of_the_session_and_no_fewer() -> None:
    a, b, c = sorted(uuid.uuid4() for _ in range(3))
    decided = outcomes([a, b, c], {a: [MONDAY, TUESDAY], b: [MONDAY, date(2025, 1, 1)], c: []},
                       session_days=(MONDAY, TUESDAY), min_attendance_days=2)
    assert [(o.participant_id, o.days_attended, o.complete) for o in decided] == \
        [(a, 2, True), (b, 1, False), (c, 0, False)]
    assert all(o.complete for o in outcomes([a, b], {a: [MONDAY], b: [TUESDAY]}, (MONDAY, TUESDAY), 1))
