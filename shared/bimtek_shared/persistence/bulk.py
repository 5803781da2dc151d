"""Many rows through one INSERT statement, upserts included."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table
from sqlalchemy.dialects.postgresql import insert
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


def keep_newest(session: Session, table: Table, key: Sequence[str], rows: Sequence[Mapping[str, Any]], *,
                newer: Callable[[Mapping[str, Any], Mapping[str, Any]], bool], replaces: ColumnElement[bool],
                also_set: Mapping[str, Any] | None = None) -> None:
    """A read model's upsert from events that may come in any order, many to a batch: each key's
    row wins if it is ``newer`` than the batch's others for that key (one statement cannot touch a
    row twice), and replaces the stored row where ``replaces`` holds (SQL over the table's columns
    and ``insert(table).excluded``)."""
    kept: dict[tuple, Mapping[str, Any]] = {}
    for row in rows:
        row_key = tuple(row[column] for column in key)
        if row_key not in kept or newer(row, kept[row_key]):
            kept[row_key] = row
    if not kept:
        return
    statement = insert(table)
    changed = {column: statement.excluded[column] for column in next(iter(kept.values())) if column not in key}
    insert_many(session, statement.on_conflict_do_update(index_elements=list(key), set_={**changed, **(also_set or {})},
                                                         where=replaces), list(kept.values()))


def higher(counter: str) -> Callable[[Mapping[str, Any], Mapping[str, Any]], bool]:
    """``newer`` for ``keep_newest`` when a version or revision number orders the rows (the later
    of two equal ones wins: the same state told twice)."""
    return lambda row, than: row[counter] >= than[counter]
