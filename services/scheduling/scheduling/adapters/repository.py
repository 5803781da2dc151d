from __future__ import annotations

import uuid

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by, insert
from sqlalchemy.orm import Session

from bimtek_shared.persistence.bulk import insert_many

from ..domain.model import ParticipantChange, SchedulingParticipant, SchedulingStatus
from .orm import cooperatives, participants, substitutions


class SchedulingParticipantRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add_all(self, new: list[SchedulingParticipant]) -> None:
        if not new:
            return
        insert_many(
            self._session,
            # The inbox already stops duplicates; this only guards against a replayed dead letter
            # of an event whose inbox record has been cleaned up.
            insert(participants).on_conflict_do_nothing(index_elements=["participant_id"]),
            [
                {
                    "participant_id": p.participant_id,
                    "regency": p.regency,
                    "position_group": p.position_group,
                    "cooperative_id": p.cooperative_id,
                    "status": p.status.value,
                    "registered_at": p.registered_at,
                    "full_name": p.full_name,
                    "position": p.position,
                }
                for p in new
            ],
        )

    def keep_newest(self, changes: list[ParticipantChange]) -> None:
        """Apply each change unless a version as new or newer is stored; a participant not seen yet
        (its registration still on its way) is kept from the change alone, and its late
        registration then changes nothing. At most one change per participant (``model.newest``)."""
        for with_status in (True, False):
            chosen = [change for change in changes if (change.status is not None) is with_status]
            if not chosen:
                continue
            statement = insert(participants)
            kept = {"regency": statement.excluded.regency, "position_group": statement.excluded.position_group,
                    "cooperative_id": statement.excluded.cooperative_id, "version": statement.excluded.version,
                    "full_name": statement.excluded.full_name, "position": statement.excluded.position,
                    "updated_at": func.now()}
            if with_status:
                kept["status"] = statement.excluded.status
            insert_many(
                self._session,
                statement.on_conflict_do_update(index_elements=[participants.c.participant_id], set_=kept,
                                                where=participants.c.version < statement.excluded.version),
                [{"participant_id": change.participant_id, "regency": change.regency,
                  "position_group": change.position_group, "cooperative_id": change.cooperative_id,
                  "status": (change.status or SchedulingStatus.WAITING).value,
                  "registered_at": change.registered_at, "version": change.version,
                  "full_name": change.full_name, "position": change.position} for change in chosen],
            )

    def add_substitutions(self, links: list[tuple[uuid.UUID, uuid.UUID, str, datetime]]) -> None:
        """(replaced, replacement, regency, when); a link already kept stays as it is."""
        insert_many(self._session, insert(substitutions).on_conflict_do_nothing(),
                    [{"replaced_participant_id": replaced, "replacement_participant_id": replacement,
                      "regency": regency, "substituted_at": at} for replaced, replacement, regency, at in links])

    def replacement_of(self, participant_id: uuid.UUID) -> uuid.UUID | None:
        return self._session.execute(select(substitutions.c.replacement_participant_id).where(
            substitutions.c.replaced_participant_id == participant_id)).scalar()

    def get(self, participant_id: uuid.UUID, regency: str | None) -> SchedulingParticipant | None:
        query = select(participants).where(participants.c.participant_id == participant_id)
        if regency is not None:
            query = query.where(participants.c.regency == regency)
        row = self._session.execute(query).mappings().first()
        if row is None:
            return None
        return SchedulingParticipant(
            participant_id=row["participant_id"],
            regency=row["regency"],
            position_group=row["position_group"],
            cooperative_id=row["cooperative_id"],
            registered_at=row["registered_at"],
            status=SchedulingStatus(row["status"]),
            full_name=row["full_name"],
            position=row["position"],
        )

    def members_by_cooperative(self, regencies: list[str]) -> dict[str, dict[uuid.UUID, list[uuid.UUID]]]:
        """The participants to seat, by regency (their own) and cooperative, in the order they
        registered: those waiting whose cooperative scheduling knows."""
        # One row per cooperative, its people in an array: a province is 68,000 people, and a row
        # each cost more in the driver than the query.
        # Driven by the participants' own regency and joined on the cooperatives' key alone: right
        # after an import the statistics are stale, and a join filtered on both regencies then
        # becomes a nested loop over every pair (130 ms for Jombang, against 7 ms).
        people = func.array_agg(aggregate_order_by(participants.c.participant_id, participants.c.registered_at,
                                                   participants.c.participant_id))
        rows = self._session.execute(
            select(participants.c.regency, participants.c.cooperative_id, people)
            .join(cooperatives, cooperatives.c.cooperative_id == participants.c.cooperative_id)
            .where(participants.c.regency.in_(sorted(regencies)),
                   participants.c.status == SchedulingStatus.WAITING.value)
            .group_by(participants.c.regency, participants.c.cooperative_id)
            .order_by(participants.c.regency, participants.c.cooperative_id))
        members: dict[str, dict[uuid.UUID, list[uuid.UUID]]] = {regency: {} for regency in regencies}
        for regency, cooperative_id, ids in rows:
            members[regency][cooperative_id] = ids
        return members

    def not_plannable(self, regencies: list[str]) -> dict[str, dict[str, int]]:
        """Per regency, its waiting participants no plan can seat yet: without a cooperative, or of a
        cooperative whose registration has not reached scheduling."""
        known = select(cooperatives.c.cooperative_id).where(cooperatives.c.cooperative_id == participants.c.cooperative_id)
        rows = self._session.execute(
            select(participants.c.regency,
                   func.count().filter(participants.c.cooperative_id.is_(None)).label("without_cooperative"),
                   func.count().filter(participants.c.cooperative_id.is_not(None), ~known.exists())
                   .label("cooperative_not_known_yet"))
            .where(participants.c.regency.in_(sorted(regencies)),
                   participants.c.status == SchedulingStatus.WAITING.value)
            .group_by(participants.c.regency)).mappings()
        counted = {row["regency"]: {"without_cooperative": row["without_cooperative"],
                                    "cooperative_not_known_yet": row["cooperative_not_known_yet"]} for row in rows}
        return {regency: counted.get(regency, {"without_cooperative": 0, "cooperative_not_known_yet": 0})
                for regency in regencies}
