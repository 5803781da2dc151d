"""Cooperatives as scheduling knows them: where each one is, for planning sessions by kecamatan.

Registration owns cooperatives; scheduling keeps the newest version it has been told of.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from operator import attrgetter

from bimtek_shared.contracts import versions


@dataclass(frozen=True)
class KnownCooperative:
    cooperative_id: uuid.UUID
    regency: str
    name: str
    districts: tuple[str, ...]  # kecamatan codes of the villages it serves
    version: int


def newest(cooperatives: Iterable[KnownCooperative]) -> list[KnownCooperative]:
    """One per cooperative, the highest version: events may arrive in any order or twice."""
    return versions.newest(cooperatives, key=attrgetter("cooperative_id"))
