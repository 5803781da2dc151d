"""What the gateway keeps only for a while is deleted once it expires: idempotency records (a day)
and refresh tokens (their lifetime). Every replica runs ``purge_expired_periodically`` in its
lifespan; each table is purged in batches, a transaction each, SKIP LOCKED, so replicas never wait
for each other and a large backlog never holds locks for long.

An expired record already counts as absent (a key may be taken over; an expired refresh token is
refused like an unknown one), so deleting it changes no answer: it only keeps the tables to what
is live, and personal links (who signed in, from which family) no longer than needed.
"""
from __future__ import annotations

import asyncio
import logging

from sqlalchemy import Table, delete, func, select, tuple_
from sqlalchemy.ext.asyncio import async_sessionmaker

from .db import idempotency_keys, refresh_tokens

log = logging.getLogger(__name__)

PURGE_INTERVAL_SECONDS = 600
PURGE_BATCH = 1000
# Each expiring table with its key columns; every one has an ``expires_at``.
EXPIRING: dict[str, tuple[Table, tuple[str, ...]]] = {
    "idempotency records": (idempotency_keys, ("principal", "key")),
    "refresh tokens": (refresh_tokens, ("id",)),
}


async def purge_expired(sessions: async_sessionmaker, what: str, batch_size: int = PURGE_BATCH) -> int:
    """Delete the expired rows of one of ``EXPIRING``, a batch per transaction; returns how many."""
    table, key_names = EXPIRING[what]
    key = tuple_(*(table.c[name] for name in key_names))
    purged = 0
    while True:
        expired = (select(*(table.c[name] for name in key_names)).where(table.c.expires_at <= func.now())
                   .limit(batch_size).with_for_update(skip_locked=True))
        async with sessions.begin() as session:
            result = await session.execute(delete(table).where(key.in_(expired)))
        purged += result.rowcount
        if result.rowcount < batch_size:
            return purged


async def purge_expired_periodically(sessions: async_sessionmaker,
                                     interval_seconds: float = PURGE_INTERVAL_SECONDS) -> None:
    while True:
        await asyncio.sleep(interval_seconds)
        for what in EXPIRING:
            try:
                purged = await purge_expired(sessions, what)
            except Exception as exc:  # noqa: BLE001 -- the next round tries again
                log.warning("purging expired %s failed (%s)", what, type(exc).__name__)
            else:
                if purged:
                    log.info("purged %d expired %s", purged, what)
