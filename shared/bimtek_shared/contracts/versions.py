"""Versioned aggregates in events: a consumer keeps the newest version it has seen of each.

Events of one aggregate may arrive in any order or twice (redelivery, retries, a relay restart),
so a batch is reduced to one item per aggregate, the one with the highest ``version``.
"""
from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from operator import attrgetter
from typing import TypeVar


T = TypeVar("T")


def newest(items: Iterable[T], key: Callable[[T], Hashable],
           version: Callable[[T], int] = attrgetter("version")) -> list[T]:
    """One item per ``key``, the highest ``version`` (the first seen of equal versions)."""
    latest: dict[Hashable, T] = {}
    for item in items:
        seen = latest.get(key(item))
        if seen is None or version(item) > version(seen):
            latest[key(item)] = item
    return list(latest.values())
