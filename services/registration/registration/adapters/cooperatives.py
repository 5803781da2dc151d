"""Cooperatives in the registration database: the cooperatives, the villages they serve (looked up
in the region reference data), the positions their participants hold, and counts per kecamatan."""
from __future__ import annotations

import functools
import re
import uuid
from collections import Counter, defaultdict
from collections.abc import Collection
from typing import Any

from sqlalchemy import String, cast, delete, exists, func, insert, literal_column, select, tuple_, update
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bimtek_shared.contracts.errors import DomainError
from bimtek_shared.contracts.pagination import SortOrder

from ..domain.cooperatives import Cooperative, TeamComposition, Village
from ..domain.model import ParticipantStatus
from .orm import cooperative_villages, cooperatives, districts, participants, regencies, villages

# Postgres names the duplicate key in its message: "Key (village_code)=(35.17.09.2001) already exists."
_TAKEN_VILLAGE = re.compile(r"\(village_code\)=\(([\d.]+)\)")


class CooperativeRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    # -- the region reference data ----------------------------------------------------------
    def find_villages(self, codes: Collection[str]) -> dict[str, Village]:
        """The villages of these codes that the reference data knows, retired ones included."""
        if not codes:
            return {}
        rows = self._session.execute(
            select(villages.c.code, villages.c.district_code, villages.c.name, villages.c.kind,
                   villages.c.retired_at).where(villages.c.code.in_(list(codes)))
        )
        return {row.code: Village(code=row.code, district=row.district_code, name=row.name, kind=row.kind,
                                  retired=row.retired_at is not None) for row in rows}

    def place_names(self, cooperatives: Collection[Cooperative],
                    known: dict[str, Village]) -> dict[uuid.UUID, dict[str, Any]]:
        """What the cooperative events carry for certificates to print, per cooperative: its
        villages', kecamatan's and regency's names (one query per level for many cooperatives)."""
        district_codes = {known[code].district for c in cooperatives for code in c.villages if code in known}
        regency_codes = {c.regency for c in cooperatives}
        district_names = dict(self._session.execute(
            select(districts.c.code, districts.c.name).where(districts.c.code.in_(district_codes))).all()) \
            if district_codes else {}
        regency_names = dict(self._session.execute(
            select(regencies.c.code, regencies.c.name).where(regencies.c.code.in_(regency_codes))).all())
        return {c.id: {"village_names": {code: known[code].name for code in c.villages if code in known},
                       "district_names": {code: district_names[code] for code in c.districts(known)
                                          if code in district_names},
                       "regency_name": regency_names.get(c.regency)} for c in cooperatives}

    def regency_exists(self, regency: str) -> bool:
        return self._session.execute(select(regencies.c.code).where(regencies.c.code == regency)).first() is not None

    # -- writing ----------------------------------------------------------------------------
    def served_by_others(self, codes: Collection[str], cooperative_id: uuid.UUID) -> list[str]:
        """Which of these villages another cooperative serves already, in the order given."""
        taken = set(self._session.scalars(
            select(cooperative_villages.c.village_code).where(
                cooperative_villages.c.village_code.in_(list(codes)),
                cooperative_villages.c.cooperative_id != cooperative_id,
            )
        ))
        return [code for code in codes if code in taken]

    def add(self, cooperative: Cooperative, known_villages: dict[str, Village]) -> None:
        self._session.execute(insert(cooperatives).values(
            id=cooperative.id, regency=cooperative.regency, name=cooperative.name,
            legal_entity_number=cooperative.legal_entity_number, contact_phone=cooperative.contact_phone,
            contact_email=cooperative.contact_email, version=cooperative.version,
            created_at=cooperative.created_at, updated_at=cooperative.updated_at,
        ))
        self._add_villages(cooperative, known_villages)

    def add_many(self, new: list[Cooperative], known_villages: dict[str, Village]) -> None:
        """Cooperatives of a bulk import, in two multi-row statements; a village another
        cooperative took meanwhile fails the whole transaction (the caller's retry sees it taken)."""
        if not new:
            return
        self._session.execute(insert(cooperatives), [
            {"id": c.id, "regency": c.regency, "name": c.name, "legal_entity_number": c.legal_entity_number,
             "contact_phone": c.contact_phone, "contact_email": c.contact_email, "version": c.version,
             "created_at": c.created_at, "updated_at": c.updated_at} for c in new])
        self._session.execute(insert(cooperative_villages), [
            {"village_code": code, "cooperative_id": c.id, "district_code": known_villages[code].district,
             "ordinal": ordinal} for c in new for ordinal, code in enumerate(c.villages)])

    def save(self, cooperative: Cooperative, changed: Collection[str], known_villages: dict[str, Village]) -> None:
        """Write a changed cooperative (locked by ``lock``); ``changed`` names the fields that changed."""
        self._session.execute(update(cooperatives).where(cooperatives.c.id == cooperative.id).values(
            name=cooperative.name, legal_entity_number=cooperative.legal_entity_number,
            contact_phone=cooperative.contact_phone, contact_email=cooperative.contact_email,
            version=cooperative.version, updated_at=cooperative.updated_at,
        ))
        if "villages" in changed:
            self._session.execute(delete(cooperative_villages).where(
                cooperative_villages.c.cooperative_id == cooperative.id))
            self._add_villages(cooperative, known_villages)

    def _add_villages(self, cooperative: Cooperative, known_villages: dict[str, Village]) -> None:
        rows = [{"village_code": code, "cooperative_id": cooperative.id,
                 "district_code": known_villages[code].district, "ordinal": ordinal}
                for ordinal, code in enumerate(cooperative.villages)]
        try:
            with self._session.begin_nested():
                self._session.execute(insert(cooperative_villages), rows)
        except IntegrityError as exc:
            # Another cooperative took the village between our check and this insert.
            taken = _TAKEN_VILLAGE.search(str(exc.orig))
            if taken is None:
                raise
            raise DomainError("village_taken", {"village": taken.group(1)}) from None

    # -- reading ----------------------------------------------------------------------------
    def get(self, cooperative_id: uuid.UUID, regency: str | None, *, lock: bool = False) -> Cooperative | None:
        """A cooperative; ``regency=None`` means any regency. ``lock`` holds it until the
        transaction ends, so concurrent changes are applied one after the other."""
        query = select(cooperatives).where(cooperatives.c.id == cooperative_id)
        if regency is not None:
            query = query.where(cooperatives.c.regency == regency)
        if lock:
            query = query.with_for_update()
        row = self._session.execute(query).mappings().first()
        if row is None:
            return None
        return Cooperative(
            id=row["id"], regency=row["regency"], name=row["name"],
            villages=self.villages_of([row["id"]])[row["id"]],
            legal_entity_number=row["legal_entity_number"], contact_phone=row["contact_phone"],
            contact_email=row["contact_email"], version=row["version"],
            created_at=row["created_at"], updated_at=row["updated_at"],
        )

    def exists(self, cooperative_id: uuid.UUID, regency: str) -> bool:
        return self._session.execute(select(cooperatives.c.id).where(
            cooperatives.c.id == cooperative_id, cooperatives.c.regency == regency)).first() is not None

    def villages_of(self, cooperative_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
        """The village codes each cooperative serves, in their order."""
        served: dict[uuid.UUID, list[str]] = {cooperative_id: [] for cooperative_id in cooperative_ids}
        rows = self._session.execute(
            select(cooperative_villages.c.cooperative_id, cooperative_villages.c.village_code)
            .where(cooperative_villages.c.cooperative_id.in_(list(cooperative_ids)))
            .order_by(cooperative_villages.c.cooperative_id, cooperative_villages.c.ordinal)
        )
        for row in rows:
            served[row.cooperative_id].append(row.village_code)
        return served

    def positions_held(self, cooperative_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Counter[str]]:
        """How many of each cooperative's active participants hold each position (the withdrawn and
        the erased are no longer on the team)."""
        held: dict[uuid.UUID, Counter[str]] = {cooperative_id: Counter() for cooperative_id in cooperative_ids}
        if not cooperative_ids:
            return held
        rows = self._session.execute(
            select(participants.c.cooperative_id, participants.c.position, func.count())
            .where(participants.c.cooperative_id.in_(list(cooperative_ids)), participants.c.status == "active")
            .group_by(participants.c.cooperative_id, participants.c.position)
        )
        for cooperative_id, position, count in rows:
            held[cooperative_id][position] = count
        return held

    def list_page(self, *, regency: str | None, district: str | None, only: uuid.UUID | None,
                  order: SortOrder, after: tuple | None, limit: int) -> list[dict[str, Any]]:
        """Cooperatives in ``order`` after the sort key ``after`` (keyset, served by the sort
        indexes); ``None`` filters left out. ``district``: those serving a village there."""
        sorted_by = cooperatives.c[order.field]
        query = select(cooperatives.c.id, cooperatives.c.regency, cooperatives.c.name,
                       cooperatives.c.legal_entity_number, cooperatives.c.version,
                       cooperatives.c.created_at, cooperatives.c.updated_at)
        if regency is not None:
            query = query.where(cooperatives.c.regency == regency)
        if only is not None:
            query = query.where(cooperatives.c.id == only)
        if district is not None:
            query = query.where(exists().where(cooperative_villages.c.cooperative_id == cooperatives.c.id,
                                               cooperative_villages.c.district_code == district))
        if after is not None:
            key = tuple_(sorted_by, cooperatives.c.id)
            query = query.where(key < after if order.descending else key > after)
        if order.descending:
            query = query.order_by(sorted_by.desc(), cooperatives.c.id.desc())
        else:
            query = query.order_by(sorted_by, cooperatives.c.id)
        return [dict(row) for row in self._session.execute(query.limit(limit)).mappings()]

    # -- statistics -------------------------------------------------------------------------
    def districts_of(self, regency: str | None) -> list[dict[str, Any]]:
        """The live kecamatan of a regency (None: of every regency) with how many live villages
        each has, by code."""
        query = (
            select(districts.c.code, districts.c.name, districts.c.regency_code,
                   func.count(villages.c.code).filter(villages.c.retired_at.is_(None)).label("villages"))
            .select_from(districts.outerjoin(villages, villages.c.district_code == districts.c.code))
            .where(districts.c.retired_at.is_(None))
            .group_by(districts.c.code, districts.c.name, districts.c.regency_code)
            .order_by(districts.c.code)
        )
        if regency is not None:
            query = query.where(districts.c.regency_code == regency)
        rows = self._session.execute(query)
        return [dict(row) for row in rows.mappings()]

    def served_villages(self, regency: str | None) -> list[dict[str, Any]]:
        """Every village a cooperative of the regency (None: of any regency) serves: (village,
        kecamatan, cooperative, its regency)."""
        query = (
            select(cooperative_villages.c.village_code, cooperative_villages.c.district_code,
                   cooperative_villages.c.cooperative_id, cooperatives.c.regency)
            .join(cooperatives, cooperatives.c.id == cooperative_villages.c.cooperative_id)
        )
        if regency is not None:
            query = query.where(cooperatives.c.regency == regency)
        return [row._asdict() for row in self._session.execute(query)]

    def active_participants_per_cooperative(self, regency: str | None) -> list[tuple[str, uuid.UUID | None, int]]:
        """(regency, cooperative or None, active participants) for a regency (None: every regency):
        what the participant list counts with ``status=active``."""
        query = (
            select(participants.c.regency, participants.c.cooperative_id, func.count())
            .where(participants.c.status == ParticipantStatus.ACTIVE.value)
            .group_by(participants.c.regency, participants.c.cooperative_id)
        )
        if regency is not None:
            query = query.where(participants.c.regency == regency)
        return [tuple(row) for row in self._session.execute(query)]

    def regency_teams(self, regency: str) -> tuple[dict[uuid.UUID, TeamComposition], dict[uuid.UUID | None, int]]:
        """Per cooperative of the regency's participants: the positions its active ones hold, and
        how many participants it has whatever their status (None: those without a cooperative).
        One read of ix_participants_regency_team, a row per cooperative: a participant's
        cooperative is always one of their own regency."""
        per_position = (
            select(participants.c.cooperative_id, participants.c.position,
                   func.count().filter(participants.c.status == ParticipantStatus.ACTIVE.value).label("active"),
                   func.count().label("everyone"))
            .where(participants.c.regency == regency)
            .group_by(participants.c.cooperative_id, participants.c.position)
            .subquery()
        )
        # "position=count,..." in position order: most teams read the same, and parse once.
        held_text = func.string_agg(per_position.c.position + "=" + cast(per_position.c.active, String),
                                    aggregate_order_by(literal_column("','"), per_position.c.position)
                                    ).filter(per_position.c.active > 0)
        rows = self._session.execute(
            select(per_position.c.cooperative_id, held_text, func.sum(per_position.c.everyone))
            .group_by(per_position.c.cooperative_id))
        held: dict[uuid.UUID, TeamComposition] = {}
        counts: dict[uuid.UUID | None, int] = defaultdict(int)
        for cooperative_id, composition, everyone in rows:
            if cooperative_id is not None:
                held[cooperative_id] = _composition(composition or "")
            counts[cooperative_id] = int(everyone)
        return held, counts


@functools.lru_cache(maxsize=1024)
def _composition(text: str) -> TeamComposition:
    return tuple((position, int(count)) for position, count in (pair.split("=") for pair in text.split(",") if pair))
