"""Training progress: the figures each service counts per regency and per kecamatan, and the one
way they are added up.

Each service counts what it owns, per cooperative (a unit of counting), and knows each
cooperative's kecamatan. A cooperative serving villages of two kecamatan counts in both
kecamatan's rows and once in its regency's totals, as registration's cooperative statistics count
it; people without a cooperative count in the totals only. The figure names are the business
gauges' names without the ``bimtek_`` prefix (``observability.metrics``).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .caller import Caller
from .errors import DomainError

FIGURES: dict[str, tuple[str, ...]] = {
    "registration": ("cooperatives_registered", "participants_registered"),
    "scheduling": ("participants_scheduled", "participants_checked_in", "participants_completed"),
    "certificates": ("certificates_issued", "certificates_revoked", "certificates_reissued",
                     "certificates_awaiting_issue"),
}

# Who may read progress: the staff of a regency (a province administrator: of every regency).
READERS = frozenset({"province_admin", "regency_admin", "operator", "trainer"})

# (regency, kecamatan codes, figures) of one unit of counting: a cooperative, or a regency's people
# without one (no kecamatan).
Unit = tuple[str, Iterable[str], Mapping[str, int]]


def tally(units: Iterable[Unit], figures: tuple[str, ...], regencies: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Per regency (by code): ``totals`` and ``districts`` (kecamatan code -> figures), every
    figure present, zero where nothing counted. ``regencies`` are listed even when nothing counts
    in them, so a figure that fell to zero shows as zero rather than vanishing."""
    answer: dict[str, dict[str, Any]] = {code: _empty(code, figures) for code in regencies}
    for regency, districts, counts in units:
        entry = answer.setdefault(regency, _empty(regency, figures))
        rows = [entry["totals"]] + [entry["districts"].setdefault(code, dict.fromkeys(figures, 0))
                                    for code in sorted(set(districts))]
        for row in rows:
            for figure in figures:
                row[figure] += counts.get(figure, 0)
    return [answer[code] for code in sorted(answer)]


def units_of(figures: Mapping[tuple[str, Any], Mapping[str, int]],
             districts: Mapping[Any, Iterable[str]]) -> list[Unit]:
    """Units of counting from figures per (regency, cooperative) and each cooperative's kecamatan
    (a cooperative not known there, or None, counts in its regency's totals only)."""
    return [(regency, districts.get(cooperative, ()) if cooperative is not None else (), counts)
            for (regency, cooperative), counts in figures.items()]


def _empty(regency: str, figures: tuple[str, ...]) -> dict[str, Any]:
    return {"regency": regency, "totals": dict.fromkeys(figures, 0), "districts": {}}


def scope_of(caller: Caller, regency: str | None) -> str | None:
    """The regency a progress question is about: the one named, else the caller's own; None (the
    whole province) only for a province administrator naming none. Another regency than the
    caller's is refused."""
    if regency is None:
        return caller.regency_scope
    if not caller.may_access(regency):
        raise DomainError("regency_out_of_scope")
    return regency
