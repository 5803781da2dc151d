from __future__ import annotations

import uuid

from sqlalchemy import String, Uuid, any_, bindparam, cast, func, select
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.orm import Session

from bimtek_shared.persistence.bulk import insert_many

from ..domain.cooperatives import KnownCooperative
from .orm import cooperatives


class KnownCooperativeRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def keep_newest(self, known: list[KnownCooperative]) -> None:
        """Insert or replace each cooperative, unless a version as new or newer is stored already.
        At most one per cooperative (``domain.cooperatives.newest``): one statement cannot touch a row twice."""
        if not known:
            return
        statement = insert(cooperatives)
        insert_many(
            self._session,
            statement.on_conflict_do_update(
                index_elements=[cooperatives.c.cooperative_id],
                set_={"regency": statement.excluded.regency, "name": statement.excluded.name,
                      "districts": statement.excluded.districts, "version": statement.excluded.version,
                      "updated_at": func.now()},
                where=cooperatives.c.version < statement.excluded.version,
            ),
            [{"cooperative_id": c.cooperative_id, "regency": c.regency, "name": c.name,
              "districts": list(c.districts), "version": c.version} for c in known],
        )

    def get(self, cooperative_id: uuid.UUID) -> KnownCooperative | None:
        row = self._session.execute(
            select(cooperatives).where(cooperatives.c.cooperative_id == cooperative_id)).mappings().first()
        if row is None:
            return None
        return KnownCooperative(cooperative_id=row["cooperative_id"], regency=row["regency"], name=row["name"],
                                districts=tuple(row["districts"]), version=row["version"])

    def of_regencies(self, regencies: list[str]) -> dict[str, list[KnownCooperative]]:
        """The known cooperatives of each regency, by id."""
        found: dict[str, list[KnownCooperative]] = {regency: [] for regency in regencies}
        rows = self._session.execute(select(cooperatives).where(cooperatives.c.regency.in_(sorted(regencies)))
                                     .order_by(cooperatives.c.regency, cooperatives.c.cooperative_id)).mappings()
        for row in rows:
            found[row["regency"]].append(KnownCooperative(
                cooperative_id=row["cooperative_id"], regency=row["regency"], name=row["name"],
                districts=tuple(row["districts"]), version=row["version"]))
        return found

    def regency_of(self, cooperative_id: uuid.UUID) -> str | None:
        return self._session.execute(select(cooperatives.c.regency)
                                     .where(cooperatives.c.cooperative_id == cooperative_id)).scalar()

    def names(self, cooperative_ids: set[uuid.UUID]) -> dict[uuid.UUID, tuple[str, str | None]]:
        """Each known cooperative's name and first kecamatan (None: it serves none): all a
        session shows of its cooperatives."""
        if not cooperative_ids:
            return {}
        # One array parameter rather than IN with a parameter per id: a regency's sessions name
        # hundreds of cooperatives, and rendering that many parameters cost more than the query.
        ids = cast(bindparam("cooperative_ids", [str(c) for c in cooperative_ids], type_=ARRAY(String)), ARRAY(Uuid))
        rows = self._session.execute(
            select(cooperatives.c.cooperative_id, cooperatives.c.name, cooperatives.c.districts[1])
            .where(cooperatives.c.cooperative_id == any_(ids)))
        return {cooperative_id: (name, district) for cooperative_id, name, district in rows}
