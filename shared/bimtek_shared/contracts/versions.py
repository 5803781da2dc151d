"""Versioned aggregates in events: a consumer keeps the newest version it has seen of each.

Events of one aggregate may arrive in any order or twice (redelivery, retries, a relay restart),
so a batch is reduced to one item per aggregate, the one with the highest ``version``.
"""
from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import Protocol, TypeVar


class Versioned(Protocol):
    @property
    def version(self) -> int: ...


V = TypeVar("V", bound=Versioned)


def newest(items: Iterable[V], key: Callable[[V], Hashable]) -> list[V]:
    """One item per ``key``, the highest version (the first seen of equal versions)."""
    latest: dict[Hashable, V] = {}
    for item in items:
        seen = latest.get(key(item))
        if seen is None or item.version > seen.version:
            latest[key(item)] = item
    return list(latest.values())
