"""Who may do what in scheduling. The gateway checks roles too (identity.MAY); the service does not
rely on it. Every regency user acts on their own regency, a province administrator on any."""
from __future__ import annotations

from bimtek_shared.contracts.caller import Caller
from bimtek_shared.contracts.errors import DomainError

PLANNERS = frozenset({"province_admin", "regency_admin", "operator"})  # programmes, venues, plans, sessions
READERS = PLANNERS | {"trainer"}
# Resource persons are provincial staff: the province manages them, every regency reads them.
RESOURCE_PERSON_MANAGERS = frozenset({"province_admin"})


def require_regency(caller: Caller, regency: str) -> str:
    if not caller.may_access(regency):
        raise DomainError("regency_out_of_scope")
    return regency


def listed_regency(caller: Caller, requested: str | None) -> str | None:
    """The regency a list shows: the one asked for if the caller may see it, else the caller's own
    (None: every regency, for a province administrator)."""
    return require_regency(caller, requested) if requested is not None else caller.regency_scope
