"""Training progress for one regency (per kecamatan) or the whole province (per regency): the three
services' figures merged into one answer, which can do without a service that is down (its
figures are null and a note says why).

Pure functions: the router asks the services (``routers/progress.py``), this merges their answers.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from bimtek_shared.contracts.errors import message_for
from bimtek_shared.contracts.progress import FIGURES

SERVICES = tuple(FIGURES)
REGION_FIGURES = ("villages", "villages_with_cooperative")  # registration's, from the region reference data
# Every column of the answer, in the order a table shows them.
COLUMNS = REGION_FIGURES + tuple(figure for service in SERVICES for figure in FIGURES[service])


def problem_note(service: str, code: str, language: str) -> dict[str, str]:
    """Why a service's figures are missing, in the caller's language."""
    return {"service": service, "code": code, "detail": message_for(code, language, service=service)}


def merge(regency: str | None, answers: dict[str, dict[str, Any] | None],
          problems: list[dict[str, str]]) -> dict[str, Any]:
    """One answer from each service's ``get_progress`` (None: the service did not answer).

    For a regency the rows (``areas``) are its kecamatan, named and listed by registration (any
    kecamatan only another service counts in is added, unnamed); for the province they are the
    regencies, each with its totals. A column of a service that did not answer is null."""
    columns_of = {service: (REGION_FIGURES if service == "registration" else ()) + FIGURES[service]
                  for service in SERVICES}
    per_regency = {service: {entry["regency"]: entry for entry in (answer or {}).get("regencies", [])}
                   for service, answer in answers.items()}

    def figures(service: str, counted: dict[str, Any] | None) -> dict[str, int | None]:
        if answers.get(service) is None:
            return dict.fromkeys(columns_of[service])
        return {column: (counted or {}).get(column, 0) for column in columns_of[service]}

    def row(code: str, name: str | None, counted_by: dict[str, dict[str, Any] | None]) -> dict[str, Any]:
        merged: dict[str, Any] = {"code": code, "name": name}
        for service in SERVICES:
            merged.update(figures(service, counted_by.get(service)))
        return merged

    if regency is not None:
        entries = {service: per_regency[service].get(regency, {}) for service in SERVICES}
        named = entries["registration"].get("districts", {})
        codes = list(named) + sorted({code for service in SERVICES for code in entries[service].get("districts", {})}
                                     - set(named))
        areas = [row(code, named.get(code, {}).get("name"),
                     {service: entries[service].get("districts", {}).get(code) for service in SERVICES})
                 for code in sorted(codes)]
        totals = row(regency, entries["registration"].get("name"),
                     {service: entries[service].get("totals") for service in SERVICES})
    else:
        codes = sorted({code for service in SERVICES for code in per_regency[service]})
        areas = [row(code, per_regency["registration"].get(code, {}).get("name"),
                     {service: per_regency[service].get(code, {}).get("totals") for service in SERVICES})
                 for code in codes]
        totals = row("", None, {service: _sum(per_regency[service].values()) for service in SERVICES})
    totals.pop("code")
    name = totals.pop("name")
    scheduling = answers.get("scheduling")
    district_names = {code: district.get("name") for entry in per_regency["registration"].values()
                      for code, district in entry.get("districts", {}).items()}
    return {
        "regency": regency,
        "name": name,
        "area_level": "district" if regency is not None else "regency",
        "generated_at": datetime.now(timezone.utc).isoformat(),
        "totals": totals,
        "areas": areas,
        "upcoming_sessions": None if scheduling is None else [
            {**session, "districts": [{"code": code, "name": district_names.get(code)} for code in session["districts"]]}
            for session in scheduling.get("upcoming_sessions", [])],
        "problems": problems,
    }


def _sum(entries: Any) -> dict[str, int]:
    """The province's totals: every regency's added up."""
    total: dict[str, int] = {}
    for entry in entries:
        for figure, count in entry.get("totals", {}).items():
            total[figure] = total.get(figure, 0) + count
    return total
