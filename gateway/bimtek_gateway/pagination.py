"""The query parameters of list endpoints whose items a service keeps (see
``bimtek_shared.contracts.pagination``; the gateway's own tables page with ``keyset``).

A list declares one model, a subclass of :class:`ListQuery` with its ``sort`` and its filters,
takes it as ``Annotated[TheQuery, Query()]`` and passes ``query.to_rpc()`` to the service. Unknown
parameters are refused (422), never ignored: a mistyped filter must not quietly list everything,
and no NIK, name or phone number can get into a list's URL.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bimtek_shared.contracts.pagination import DEFAULT_LIMIT, MAX_CURSOR_CHARS, MAX_LIMIT, sort_options


class ListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Items per page")
    cursor: str | None = Field(default=None, max_length=MAX_CURSOR_CHARS,
                               description="`next_cursor` of the previous page; leave out for the first page")
    sort: str  # each list narrows it with sort_by()

    def to_rpc(self) -> dict[str, Any]:
        """Page and filters as a service's list use case takes them; filters left out are not sent."""
        return self.model_dump(mode="json", exclude_none=True)


def sort_by(*fields: str) -> Any:
    """The type of a list's ``sort``: ``field`` ascending or ``-field`` descending, for these fields."""
    return Literal[sort_options(*fields)]
