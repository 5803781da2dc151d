"""Keyset pages of the gateway's own tables (users, device tokens), with the shared cursors of
``bimtek_shared.contracts.pagination``, oldest first (creation time, then id). Their query
parameters are ``pagination.ListQuery`` models, like every list's.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar
from sqlalchemy import ColumnElement, Select, tuple_

from bimtek_shared.contracts.pagination import Page, SortOrder, decode_cursor, page_of

ItemT = TypeVar("ItemT")

BY_CREATION = SortOrder("created_at")

__all__ = ["Page", "oldest_first", "page_from"]


def oldest_first(query: Select, created_at: ColumnElement, item_id: ColumnElement, *, limit: int,
                 cursor: str | None) -> Select:
    """``query`` cut to the page after ``cursor``, plus one row that tells whether another page follows."""
    if cursor is not None:
        key = decode_cursor(cursor, BY_CREATION, (datetime, uuid.UUID))  # invalid_cursor (422) if garbled
        query = query.where(tuple_(created_at, item_id) > tuple_(*key))
    return query.order_by(created_at, item_id).limit(limit + 1)


def page_from(rows: Sequence[Any], *, limit: int, key: Callable[[Any], tuple[datetime, uuid.UUID]],
              item: Callable[[Any], ItemT]) -> Page[ItemT]:
    """The page for ``oldest_first``'s rows; ``key`` gives a row's (creation time, id)."""
    shown, next_cursor = page_of(rows, limit, BY_CREATION, key)
    return Page(items=[item(row) for row in shown], next_cursor=next_cursor, limit=limit)
