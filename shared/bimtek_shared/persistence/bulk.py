"""Many rows through one INSERT statement, upserts included."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert


def insert_many(session: Session, statement: Insert, rows: Sequence[Mapping[str, Any]]) -> None:
    """Execute ``statement`` for every row, a thousand rows to a database statement.

    SQLAlchemy (2.1, psycopg2) sends a plain INSERT's rows as multi-row statements, but an
    ``INSERT ... ON CONFLICT`` without ``RETURNING`` one row at a time: 75,000 round trips for the
    consumers of a province's import. Returning the table's key, unread, makes it batch them too.
    """
    if rows:
        session.execute(statement.returning(*statement.table.primary_key.columns), rows)
