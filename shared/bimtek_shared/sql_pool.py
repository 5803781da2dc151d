"""When a pooled database connection is worth testing before use: only after it sat idle.

SQLAlchemy's ``pool_pre_ping`` tests every checkout with a round trip to PostgreSQL. Under load a
connection goes back to work milliseconds after it was returned, so that round trip finds nothing
and costs a query's worth of CPU in the process and in PostgreSQL on every RPC call: measured at
about a fifth of a service's time answering a simple read. A connection that has been idle long
enough to have been cut (a PostgreSQL restart, a firewall's idle timeout) is tested here before
use, as pre-ping would. A connection lost while busy is the other case: SQLAlchemy sees the
disconnect error, fails that one call, and invalidates every connection of the pool opened before
it, so the next checkouts reconnect.

Used by the services (psycopg2 under eventlet) and the gateway (asyncpg), so it imports only
SQLAlchemy.
"""
from __future__ import annotations

import time

from sqlalchemy import event, exc
from sqlalchemy.engine import Engine

IDLE_BEFORE_PING_SECONDS = 5.0
_RETURNED_AT = "bimtek_returned_at"


def ping_connections_idle_for(engine: Engine, seconds: float = IDLE_BEFORE_PING_SECONDS) -> None:
    """Test a connection at checkout when it was returned to ``engine``'s pool over ``seconds`` ago.

    Pass ``AsyncEngine.sync_engine`` for an asyncio engine: its pool events run in the same place.
    """
    dialect = engine.dialect

    @event.listens_for(engine.pool, "checkin")
    def remember_return(dbapi_connection, record) -> None:
        record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def ping_if_idle(dbapi_connection, record, proxy) -> None:
        returned_at = record.info.get(_RETURNED_AT)
        if returned_at is None or time.monotonic() - returned_at < seconds:
            return  # new, or back in use straight away: it was alive a moment ago
        try:
            alive = dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if not dialect.is_disconnect(error, dbapi_connection, None):
                raise
            alive = False
        if not alive:
            # The pool discards this connection and checks out another (a fresh one if need be).
            raise exc.DisconnectionError("a pooled connection was found closed after idling")
