"""Lists in pages: limits, sort orders, opaque cursors and the page every list answers with.

Keyset pagination, never OFFSET: a cursor holds the sort key of the last item it covered (the
sorted field's value and the id, which breaks ties), and the next page is the rows after that key,
``WHERE (field, id) > (:value, :id)`` (``<`` when descending). Rows added meanwhile never shift a
page, so a client paging through sees no item twice and skips none that was there when it began.

A cursor is URL-safe base64 of ``{"sort": ..., "key": [...]}``. It names the sort it was made for:
used with another sort it is refused (``invalid_cursor``) rather than silently starting elsewhere.
Where the sort key is personal data (a name), the producer passes a :class:`Sealer` that encrypts
the cursor, because cursors travel in URLs. A cursor only positions a page inside what the caller
may see anyway, so a forged one can do no more than a genuine one.
"""
from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Callable, Generic, Protocol, Sequence, TypeVar

from pydantic import BaseModel, Field

from .errors import DomainError

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_CURSOR_CHARS = 2048  # a sealed cursor after a 200-character name fits

ItemT = TypeVar("ItemT")
RowT = TypeVar("RowT")
KeyValue = str | int | datetime | date | uuid.UUID


class Page(BaseModel, Generic[ItemT]):
    items: list[ItemT]
    next_cursor: str | None = Field(description="Send as `cursor` for the next page; null on the last page")
    limit: int


@dataclass(frozen=True)
class SortOrder:
    """``registered_at`` (ascending) or ``-registered_at`` (descending); the id always breaks ties."""

    field: str
    descending: bool = False

    @classmethod
    def parse(cls, text: str, allowed: Sequence[str]) -> SortOrder:
        order = cls(text[1:], True) if text.startswith("-") else cls(text)
        if order.field not in allowed:
            raise DomainError("validation_failed", {"errors": [
                {"field": "sort", "message": "one of " + ", ".join(sort_options(*allowed))}]})
        return order

    def __str__(self) -> str:
        return f"-{self.field}" if self.descending else self.field


def sort_options(*fields: str) -> tuple[str, ...]:
    """Every value ``sort`` accepts for these fields: each ascending and descending."""
    return tuple(option for field in fields for option in (field, f"-{field}"))


class Sealer(Protocol):
    """Encrypts cursors whose sort key is personal data; ``open`` raises ValueError on a forged one."""

    def seal(self, plain: bytes) -> bytes: ...

    def open(self, sealed: bytes) -> bytes: ...


def encode_cursor(order: SortOrder, key: Sequence[KeyValue], sealer: Sealer | None = None) -> str:
    """The cursor after the item whose sort key is ``key`` (the sorted field's value, then the id)."""
    raw = json.dumps({"sort": str(order), "key": [_to_json(value) for value in key]},
                     separators=(",", ":"), ensure_ascii=False).encode()
    if sealer is not None:
        raw = sealer.seal(raw)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str, order: SortOrder, key_types: Sequence[type],
                  sealer: Sealer | None = None) -> tuple[Any, ...]:
    """The sort key a cursor holds, each value of its declared type; ``invalid_cursor`` for a
    cursor that is garbled, forged, or was made for another sort order."""
    try:
        if len(cursor) > MAX_CURSOR_CHARS:
            raise ValueError("too long")
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        if sealer is not None:
            raw = sealer.open(raw)
        data = json.loads(raw)
        if not isinstance(data, dict) or data.get("sort") != str(order):
            raise ValueError("another sort order")
        values = data.get("key")
        if not isinstance(values, list) or len(values) != len(key_types):
            raise ValueError("wrong key length")
        return tuple(_from_json(value, kind) for value, kind in zip(values, key_types))
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise DomainError("invalid_cursor") from None


def page_of(rows: Sequence[RowT], limit: int, order: SortOrder, key_of: Callable[[RowT], Sequence[KeyValue]],
            sealer: Sealer | None = None) -> tuple[list[RowT], str | None]:
    """Cut the ``limit + 1`` rows a query fetched into this page's rows and the next page's cursor
    (None when the extra row is missing, i.e. this is the last page)."""
    if len(rows) <= limit:
        return list(rows), None
    kept = list(rows[:limit])
    return kept, encode_cursor(order, key_of(kept[-1]), sealer)


def _to_json(value: KeyValue) -> str | int:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return value
    raise TypeError(f"a sort key cannot hold a {type(value).__name__}")


def _from_json(value: Any, kind: type) -> KeyValue:
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("not an integer")
        return value
    if not isinstance(value, str):
        raise ValueError("not a string")
    if kind is str:
        return value
    if kind is uuid.UUID:
        return uuid.UUID(value)
    if kind is datetime:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError("a time without a zone")
        return moment
    if kind is date:
        return date.fromisoformat(value)
    raise TypeError(f"a sort key cannot hold a {kind.__name__}")
