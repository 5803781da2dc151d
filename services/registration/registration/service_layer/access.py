"""Whose data a caller may see in registration, beyond their regency: a cooperative operator sees
only their own cooperative's people (and a participant only themselves, checked where it applies)."""
from __future__ import annotations

import uuid

from bimtek_shared.contracts.caller import Caller
from bimtek_shared.contracts.errors import DomainError

COOPERATIVE_OPERATOR = "cooperative_operator"


def cooperative_of(caller: Caller) -> uuid.UUID | None:
    """The one cooperative a caller tied to one may see; None for callers who see whole regencies."""
    if caller.cooperative:
        try:
            return uuid.UUID(caller.cooperative)
        except ValueError:
            raise DomainError("forbidden") from None
    if caller.role == COOPERATIVE_OPERATOR:
        raise DomainError("forbidden")  # an operator whose cooperative is unknown sees nothing
    return None


def may_see_cooperative(caller: Caller, cooperative_id: uuid.UUID | None) -> bool:
    try:
        cooperative = cooperative_of(caller)
    except DomainError:
        return False
    return cooperative is None or cooperative == cooperative_id
