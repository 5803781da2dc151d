"""Region reference data in the registration database: loading a province, and reading it back.

Loading is an idempotent upsert keyed by code, in one transaction: new codes are added, names
(and kinds) refreshed, and a code missing from the files is *retired* (``retired_at`` set) and
reported, never deleted, because a cooperative or a NIK may still refer to it. A retired code that
comes back is restored. Rows that did not change are not written, so loading the same files twice
changes nothing.

Reading: the lists the API shows (live rows only), and :class:`RegionIndex`, the small set of
codes NIK checks need (retired codes included), cached per process by :class:`RegionIndexCache`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from ..domain.regions import PROVINCES
from .orm import districts, provinces, region_loads, regencies, villages
from .region_files import LEVELS, RegionFileSet

TABLES: dict[str, Table] = {"regencies": regencies, "districts": districts, "villages": villages}
# The columns a load writes, besides the code: what the files say of each row.
DATA_COLUMNS = {
    "regencies": ("province_code", "name", "kind"),
    "districts": ("regency_code", "name"),
    "villages": ("district_code", "name", "kind"),
}
# Loads of any province run one at a time (the lock is released when the transaction ends).
_LOAD_LOCK_KEY = "registration.region_load"


@dataclass
class LevelChanges:
    added: list[str] = field(default_factory=list)
    renamed: list[str] = field(default_factory=list)  # name or kind refreshed
    restored: list[str] = field(default_factory=list)  # retired, and in the files again
    retired: list[str] = field(default_factory=list)  # no longer in the files: kept, marked retired

    def counts(self) -> dict[str, int]:
        return {"added": len(self.added), "renamed": len(self.renamed), "restored": len(self.restored),
                "retired": len(self.retired)}


@dataclass
class LoadReport:
    province: str
    source: str
    rows: dict[str, int]  # level -> rows in the files
    changes: dict[str, LevelChanges]  # level -> what changed

    @property
    def changed(self) -> bool:
        return any(any(c.counts().values()) for c in self.changes.values())


def load_province(conn: Connection, files: RegionFileSet, source: str) -> LoadReport:
    """Bring the database in line with ``files`` (already checked) in the caller's transaction."""
    conn.execute(select(func.pg_advisory_xact_lock(func.hashtext(_LOAD_LOCK_KEY))))
    _upsert_provinces(conn)
    rows = {"regencies": {code: {**row, "province_code": files.province} for code, row in files.regencies.items()},
            "districts": files.districts, "villages": files.villages}
    changes = {}
    for level in LEVELS:  # parents first: the foreign keys need them
        changes[level] = _apply_level(conn, level, files.province, rows[level])
    report = LoadReport(files.province, source, {level: len(rows[level]) for level in LEVELS}, changes)
    record = {
        "province_code": files.province, "source": source[:500], "files_sha256": files.sha256,
        **report.rows, "changes": {level: c.counts() for level, c in changes.items()}, "loaded_at": func.now(),
    }
    statement = pg_insert(region_loads).values(**record)
    conn.execute(statement.on_conflict_do_update(
        index_elements=[region_loads.c.province_code],
        set_={key: statement.excluded[key] for key in record if key != "province_code"},
    ))
    return report


def _upsert_provinces(conn: Connection) -> None:
    """The province list comes from the domain: every load refreshes its names."""
    statement = pg_insert(provinces).values([{"code": code, "name": name} for code, name in PROVINCES.items()])
    conn.execute(statement.on_conflict_do_update(
        index_elements=[provinces.c.code], set_={"name": statement.excluded.name},
        where=provinces.c.name.is_distinct_from(statement.excluded.name),
    ))


def _apply_level(conn: Connection, level: str, province: str, wanted: dict[str, dict[str, str]]) -> LevelChanges:
    table, columns = TABLES[level], DATA_COLUMNS[level]
    stored = {
        row.code: row for row in conn.execute(
            select(table.c.code, table.c.retired_at, *(table.c[c] for c in columns))
            .where(table.c.code.startswith(province + "."))
        )
    }
    changes = LevelChanges()
    new_rows, refreshed = [], []
    for code, row in wanted.items():
        values = {c: row[c] for c in columns}
        current = stored.get(code)
        if current is None:
            new_rows.append({"code": code, **values})
            changes.added.append(code)
        elif current.retired_at is not None:
            refreshed.append({"b_code": code, **{f"b_{c}": v for c, v in values.items()}})
            changes.restored.append(code)
        elif any(getattr(current, c) != values[c] for c in columns):
            refreshed.append({"b_code": code, **{f"b_{c}": v for c, v in values.items()}})
            changes.renamed.append(code)
    changes.retired = sorted(code for code, row in stored.items() if code not in wanted and row.retired_at is None)
    if new_rows:
        conn.execute(insert(table), new_rows)
    if refreshed:  # executemany; the b_ names keep the parameters apart from the columns they set
        conn.execute(
            update(table).where(table.c.code == bindparam("b_code"))
            .values(**{c: bindparam(f"b_{c}") for c in columns}, retired_at=None),
            refreshed,
        )
    if changes.retired:
        conn.execute(update(table).where(table.c.code.in_(changes.retired)).values(retired_at=func.now()))
    return changes


def load_status(conn: Connection) -> list[dict[str, Any]]:
    """One entry per loaded province: where its data came from, when, and what is live now."""
    loads = conn.execute(
        select(region_loads, provinces.c.name.label("province_name"))
        .join(provinces, provinces.c.code == region_loads.c.province_code)
        .order_by(region_loads.c.province_code)
    ).mappings().all()
    status = []
    for load in loads:
        live, retired = {}, {}
        for level, table in TABLES.items():
            counts = conn.execute(
                select(func.count().filter(table.c.retired_at.is_(None)), func.count().filter(table.c.retired_at.isnot(None)))
                .where(table.c.code.startswith(load["province_code"] + "."))
            ).one()
            live[level], retired[level] = counts
        status.append({**load, "live": live, "retired": retired})
    return status


# -- reading ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RegionIndex:
    """The codes NIK checks look up (the domain's ``RegionDirectory``), retired ones included."""

    loaded_provinces: frozenset[str] = frozenset()
    regencies: frozenset[str] = frozenset()
    districts: frozenset[str] = frozenset()

    def is_loaded(self, province: str) -> bool:
        return province in self.loaded_provinces

    def has_regency(self, code: str) -> bool:
        return code in self.regencies

    def has_district(self, code: str) -> bool:
        return code in self.districts


class RegionIndexCache:
    """One :class:`RegionIndex` per process, rebuilt when a load has happened since it was built.

    Whether one has is asked at most every ``recheck_seconds`` (one query on ``region_loads``, a
    row per loaded province): a province is loaded once, and a registration in the seconds after
    a load at worst says ``nik_region_not_checked``. A rebuild reads the regency and kecamatan
    codes (a few hundred per province).
    """

    def __init__(self, recheck_seconds: float = 5.0) -> None:
        self._recheck_seconds = recheck_seconds
        # (version, index, checked at), replaced whole so concurrent workers never see a mix of two.
        self._cached: tuple[tuple[int, datetime | None], RegionIndex, float] | None = None

    def get(self, session: Session) -> RegionIndex:
        cached = self._cached
        if cached is not None and time.monotonic() - cached[2] < self._recheck_seconds:
            return cached[1]
        count, last = session.execute(select(func.count(), func.max(region_loads.c.loaded_at))).one()
        if cached is not None and cached[0] == (count, last):
            self._cached = (cached[0], cached[1], time.monotonic())
            return cached[1]
        index = RegionIndex(
            loaded_provinces=frozenset(session.scalars(select(region_loads.c.province_code))),
            regencies=frozenset(session.scalars(select(regencies.c.code))),
            districts=frozenset(session.scalars(select(districts.c.code))),
        )
        self._cached = ((count, last), index, time.monotonic())
        return index


class RegionRepository:
    def __init__(self, session: Session, cache: RegionIndexCache) -> None:
        self._session = session
        self._cache = cache

    def directory(self) -> RegionIndex:
        return self._cache.get(self._session)

    def regencies(self, province: str) -> list[dict[str, Any]]:
        return self._live(regencies, regencies.c.province_code == province, ("code", "name", "kind"))

    def districts(self, regency_code: str) -> list[dict[str, Any]] | None:
        """The kecamatan of a regency; None if there is no such (live) regency."""
        if not self._is_live(regencies, regency_code):
            return None
        return self._live(districts, districts.c.regency_code == regency_code, ("code", "name"))

    def villages(self, district_code: str) -> list[dict[str, Any]] | None:
        """The desa and kelurahan of a kecamatan; None if there is no such (live) kecamatan."""
        if not self._is_live(districts, district_code):
            return None
        return self._live(villages, villages.c.district_code == district_code, ("code", "name", "kind"))

    def _is_live(self, table: Table, code: str) -> bool:
        return self._session.execute(
            select(text("1")).select_from(table).where(table.c.code == code, table.c.retired_at.is_(None))
        ).first() is not None

    def _live(self, table: Table, condition: Any, columns: tuple[str, ...]) -> list[dict[str, Any]]:
        query = (select(*(table.c[c] for c in columns))
                 .where(condition, table.c.retired_at.is_(None)).order_by(table.c.code))
        return [dict(row) for row in self._session.execute(query).mappings()]
