"""Use cases of the region reference data: read-only lists for any signed-in caller.

Regions are province-wide names and codes (no personal data), so no regency scope applies.
Loading the data is an operator's command (``registration.cli``), not a use case of the API.
"""
from __future__ import annotations

from typing import Any

from bimtek_shared.contracts.caller import Caller, require_caller
from bimtek_shared.contracts.errors import DomainError

from .unit_of_work import RegistrationUnitOfWork


def list_regencies(uow: RegistrationUnitOfWork, caller: Caller | None, province: str) -> dict[str, Any]:
    require_caller(caller)
    with uow:
        items = uow.regions.regencies(province)
    return {"province": province, "items": items}


def list_districts(uow: RegistrationUnitOfWork, caller: Caller | None, regency_code: str) -> dict[str, Any]:
    require_caller(caller)
    with uow:
        items = uow.regions.districts(regency_code)
    if items is None:
        raise DomainError("region_not_found")
    return {"regency": regency_code, "items": items}


def list_villages(uow: RegistrationUnitOfWork, caller: Caller | None, district_code: str) -> dict[str, Any]:
    require_caller(caller)
    with uow:
        items = uow.regions.villages(district_code)
    if items is None:
        raise DomainError("region_not_found")
    return {"district": district_code, "items": items}
