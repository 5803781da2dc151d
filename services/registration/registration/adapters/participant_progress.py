"""The read model of a participant's progress (migrations 0009 and 0010): sessions, seats and
certificates as scheduling's and certificates' events report them. Each row keeps the newest state
its key has been told of, whatever order the events arrive in: a session by its version, a seat by
its plan revision (an unseating is a seat with no session), a certificate by its version (a
revocation wins over the issue of the same version). One statement per table per batch."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import literal_column, or_
from sqlalchemy.dialects.postgresql import JSON
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from bimtek_shared.persistence.bulk import higher, keep_newest

from .orm import progress_certificates, progress_seats, progress_sessions


def _certificate_newer(row: Mapping[str, Any], than: Mapping[str, Any]) -> bool:
    return row["version"] > than["version"] or (row["version"] == than["version"] and row["status"] == "revoked")


class ParticipantProgressView:
    def __init__(self, session: Session) -> None:
        self._session = session

    def note_sessions(self, rows: list[dict[str, Any]]) -> None:
        """Sessions as scheduled or rescheduled (``cancelled`` when a re-plan emptied one)."""
        keep_newest(self._session, progress_sessions, ["session_id"], rows, newer=higher("version"),
                    replaces=progress_sessions.c.version < insert(progress_sessions).excluded.version)

    def note_seats(self, rows: list[dict[str, Any]]) -> None:
        """Each participant's session in a programme, as the highest plan revision placed them
        (``session_id`` none: that revision unseated them)."""
        keep_newest(self._session, progress_seats, ["participant_id", "programme_id"], rows, newer=higher("revision"),
                    replaces=progress_seats.c.revision <= insert(progress_seats).excluded.revision)

    def note_certificates(self, rows: list[dict[str, Any]]) -> None:
        """Each participant's certificate per programme: its newest version's number and status."""
        excluded = insert(progress_certificates).excluded
        keep_newest(self._session, progress_certificates, ["participant_id", "programme_id"], rows,
                    newer=_certificate_newer, replaces=or_(
                        progress_certificates.c.version < excluded.version,
                        (progress_certificates.c.version == excluded.version) & (excluded.status == "revoked")))


# A participant's progress as two JSON columns, shaped as answers show it, beside the participant's
# own in one statement (``ParticipantRepository.get(..., with_progress=True)``): it runs on every
# read of a participant. Correlated with the enclosing query's ``participants`` row.
PROGRESS_COLUMNS = (
    literal_column("""(
      SELECT coalesce(json_agg(json_build_object(
                 'programme_id', s.programme_id, 'session_id', s.session_id, 'number', s.number, 'days', s.days,
                 'venue', json_build_object('id', s.venue_id, 'name', coalesce(s.venue_name, '')))
               ORDER BY s.days[1], s.programme_id), '[]')
      FROM progress_seats AS seat JOIN progress_sessions AS s ON s.session_id = seat.session_id
      WHERE seat.participant_id = participants.id AND NOT s.cancelled)""", type_=JSON).label("sessions"),
    literal_column("""(
      SELECT coalesce(json_agg(json_build_object(
                 'programme_id', c.programme_id, 'number', c.number, 'version', c.version, 'status', c.status)
               ORDER BY c.programme_id), '[]')
      FROM progress_certificates AS c WHERE c.participant_id = participants.id)""", type_=JSON).label("certificates"),
)
