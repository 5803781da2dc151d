"""Training progress in the scheduling database: per (regency, cooperative), the participants
seated in a published plan, those present on at least one day and those who completed; each
cooperative's kecamatan; and the sessions still to come."""
from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import any_, func, literal, select

from .orm import assignments, attendance, cooperatives, participants, session_cooperatives, session_outcomes, \
    sessions, venues

CooperativeFigures = dict[tuple[str, uuid.UUID | None], dict[str, int]]


class ProgressRepository:
    def __init__(self, session) -> None:
        self._session = session

    def participant_figures(self, regency: str | None) -> CooperativeFigures:
        """{(regency, cooperative): {participants_scheduled, participants_checked_in,
        participants_completed}}, each participant counted once per figure (whatever the number
        of programmes or days), under their cooperative as scheduling knows it now."""
        figures: CooperativeFigures = {}
        counted = {
            "participants_scheduled": select(assignments.c.participant_id),
            "participants_checked_in": select(attendance.c.participant_id).where(attendance.c.present),
            "participants_completed": select(session_outcomes.c.participant_id).where(session_outcomes.c.complete),
        }
        for figure, who in counted.items():
            query = (select(participants.c.regency, participants.c.cooperative_id, func.count())
                     .where(participants.c.participant_id.in_(who))
                     .group_by(participants.c.regency, participants.c.cooperative_id))
            if regency is not None:
                query = query.where(participants.c.regency == regency)
            for their_regency, cooperative, count in self._session.execute(query):
                figures.setdefault((their_regency, cooperative), {})[figure] = count
        return figures

    def known_regencies(self) -> list[str]:
        """Every regency with a participant known here: its gauges read 0 rather than nothing."""
        return list(self._session.execute(select(participants.c.regency).distinct()).scalars())

    def cooperative_districts(self, regency: str | None) -> dict[uuid.UUID, list[str]]:
        query = select(cooperatives.c.cooperative_id, cooperatives.c.districts)
        if regency is not None:
            query = query.where(cooperatives.c.regency == regency)
        return {cid: list(codes or ()) for cid, codes in self._session.execute(query)}

    def sessions_from(self, regency: str | None, day: date, limit: int) -> list[dict[str, Any]]:
        """Published sessions not closed whose last day is ``day`` or later, soonest first, with
        their venue and the kecamatan of the cooperatives seated in them."""
        query = (select(sessions.c.id, sessions.c.regency, sessions.c.number, sessions.c.days, sessions.c.first_day,
                        sessions.c.participants, venues.c.name.label("venue"), venues.c.capacity)
                 .join(venues, venues.c.id == sessions.c.venue_id)
                 .where(sessions.c.status == "scheduled", literal(day) <= any_(sessions.c.days))
                 .order_by(sessions.c.first_day, sessions.c.regency, sessions.c.number)
                 .limit(limit))
        if regency is not None:
            query = query.where(sessions.c.regency == regency)
        rows = [dict(row) for row in self._session.execute(query).mappings()]
        districts: dict[uuid.UUID, set[str]] = {row["id"]: set() for row in rows}
        if rows:
            seated = self._session.execute(
                select(session_cooperatives.c.session_id, cooperatives.c.districts)
                .join(cooperatives, cooperatives.c.cooperative_id == session_cooperatives.c.cooperative_id)
                .where(session_cooperatives.c.session_id.in_(list(districts))))
            for session_id, codes in seated:
                districts[session_id].update(codes or ())
        for row in rows:
            row["districts"] = sorted(districts[row["id"]])
        return rows
