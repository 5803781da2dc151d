"""Cooperatives as scheduling knows them: where each one is, for planning sessions by kecamatan.

Registration owns cooperatives; scheduling keeps the newest version it has been told of.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class KnownCooperative:
    cooperative_id: uuid.UUID
    regency: str
    name: str
    districts: tuple[str, ...]  # kecamatan codes of the villages it serves
    version: int


def newest(cooperatives: Iterable[KnownCooperative]) -> list[KnownCooperative]:
    """One per cooperative, the highest version: events may arrive in any order or twice."""
    latest: dict[uuid.UUID, KnownCooperative] = {}
    for cooperative in cooperatives:
        seen = latest.get(cooperative.cooperative_id)
        if seen is None or cooperative.version > seen.version:
            latest[cooperative.cooperative_id] = cooperative
    return list(latest.values())
