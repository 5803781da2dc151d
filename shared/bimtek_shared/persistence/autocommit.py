"""Statements that each commit alone, on a pooled connection: no BEGIN or COMMIT round trip, for
work whose statements need no transaction together.

The driver's own autocommit flag, not SQLAlchemy's ``isolation_level="AUTOCOMMIT"`` option: under
psycopg2, that option's reset when the connection goes back to the pool costs a round trip; the
flag costs none. It is switched back while the caller still holds the connection, so the pool
never hands an autocommitting connection to work that expects a transaction."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine


def start_autocommit(connection: Connection) -> None:
    """From here on each statement on ``connection`` commits alone (no transaction may be open)."""
    connection.connection.dbapi_connection.autocommit = True


def end_autocommit(connection: Connection) -> None:
    """Transactional again; a connection that cannot be switched back is discarded, never handed
    to the next user of the pool."""
    try:
        connection.connection.dbapi_connection.autocommit = False
    except Exception:
        connection.invalidate()
        raise


@contextmanager
def autocommit_connection(engine: Engine) -> Iterator[Connection]:
    """A pooled connection whose statements each commit alone, transactional again on return."""
    with engine.connect() as connection:
        start_autocommit(connection)
        try:
            yield connection
        finally:
            end_autocommit(connection)
