from __future__ import annotations

import uuid

from .errors import DomainError


def parse_id(value: object, not_found_code: str) -> uuid.UUID:
    """An id from a caller; one that cannot be a UUID names nothing, so it is 'not found'."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise DomainError(not_found_code) from None
