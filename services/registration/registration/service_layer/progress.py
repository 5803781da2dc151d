"""Training progress as registration counts it, per regency and per kecamatan: villages (region
reference data), villages a cooperative serves, cooperatives registered and participants
registered (active ones: the participant list with ``status=active``). The same queries as the
cooperative statistics, for one regency or the whole province; and the progress gauges from them.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any

from bimtek_shared.contracts.caller import Caller, require_role
from bimtek_shared.contracts.errors import DomainError
from bimtek_shared.contracts.progress import FIGURES, READERS, scope_of, tally
from bimtek_shared.observability import metrics

from .unit_of_work import RegistrationUnitOfWork

SERVICE = "registration"


def get_progress(uow: RegistrationUnitOfWork, caller: Caller | None, regency: str | None,
                 province: str) -> dict[str, Any]:
    """One regency's figures (the caller's own unless named), or every regency's for a province
    administrator naming none."""
    scope = scope_of(require_role(caller, READERS), regency)
    with uow:
        if scope is not None and not uow.cooperatives.regency_exists(scope):
            raise DomainError("region_not_found")
        return {"service": SERVICE, "regency": scope, "regencies": count_progress(uow, scope, province)}


def refresh_progress_gauges(uow: RegistrationUnitOfWork, province: str) -> None:
    with uow:
        regencies = count_progress(uow, None, province)
    metrics.set_progress(SERVICE, regencies)


def count_progress(uow: RegistrationUnitOfWork, regency: str | None, province: str) -> list[dict[str, Any]]:
    """Per regency (None: every regency of the province): the figures with the regency's name and,
    per kecamatan (every live one, counted or not), its name, villages and villages served."""
    names = {row["code"]: row["name"] for row in uow.regions.regencies(province)}
    district_rows = uow.cooperatives.districts_of(regency)
    served = uow.cooperatives.served_villages(regency)
    people = uow.cooperatives.active_participants_per_cooperative(regency)

    districts_of: dict[Any, set[str]] = defaultdict(set)
    regency_of: dict[Any, str] = {}
    for row in served:
        districts_of[row["cooperative_id"]].add(row["district_code"])
        regency_of[row["cooperative_id"]] = row["regency"]
    people_of = {cooperative: count for _, cooperative, count in people if cooperative is not None}
    units = [(regency_of[cid], codes, {"cooperatives_registered": 1, "participants_registered": people_of.get(cid, 0)})
             for cid, codes in districts_of.items()]
    # People without a cooperative (or of one serving no village) count in their regency's totals only.
    units += [(their_regency, (), {"participants_registered": count}) for their_regency, cid, count in people
              if cid not in districts_of]

    figures = FIGURES[SERVICE]
    wanted = [regency] if regency is not None else sorted(names)
    counted = {entry["regency"]: entry for entry in tally(units, figures, wanted)}
    villages_served: dict[str, int] = defaultdict(int)
    for row in served:
        villages_served[row["district_code"]] += 1
    for row in district_rows:
        entry = counted.get(row["regency_code"])
        if entry is None:
            continue
        district = entry["districts"].setdefault(row["code"], dict.fromkeys(figures, 0))
        district.update(name=row["name"], villages=row["villages"], villages_with_cooperative=villages_served[row["code"]])
        entry["totals"]["villages"] = entry["totals"].get("villages", 0) + row["villages"]
        entry["totals"]["villages_with_cooperative"] = (entry["totals"].get("villages_with_cooperative", 0)
                                                        + villages_served[row["code"]])
    for code, entry in counted.items():
        entry["name"] = names.get(code)
        entry["totals"].setdefault("villages", 0)
        entry["totals"].setdefault("villages_with_cooperative", 0)
    return [counted[code] for code in sorted(counted)]
