"""An upsert of many rows reaches PostgreSQL as a few multi-row statements, not one per row."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, event, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from bimtek_shared.persistence.bulk import insert_many

pytestmark = pytest.mark.integration

URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def table_and_engine():
    # The services' engine settings (nameko_ext/database.py).
    engine = create_engine(URL, executemany_mode="values_plus_batch")
    metadata = MetaData()
    table = Table(f"test_bulk_{uuid.uuid4().hex[:8]}", metadata,
                  Column("id", Integer, primary_key=True), Column("version", Integer, nullable=False))
    metadata.create_all(engine)
    try:
        yield table, engine
    finally:
        metadata.drop_all(engine)
        engine.dispose()


def _statements_sent(engine, run) -> int:
    """Statements sent to the server: a cursor.executemany of a parameter list sends one per row;
    a multi-row statement comes with one dictionary of parameters."""
    sent = []

    def count(conn, cursor, statement, parameters, context, executemany):
        sent.append(len(parameters) if executemany and isinstance(parameters, (list, tuple)) else 1)

    event.listen(engine, "before_cursor_execute", count)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return sum(sent)


def test_an_upsert_of_2500_rows_is_three_statements_and_keeps_the_newest(table_and_engine):
    table, engine = table_and_engine
    rows = [{"id": i, "version": 1} for i in range(2500)]
    statement = insert(table)
    upsert = statement.on_conflict_do_update(index_elements=[table.c.id], set_={"version": statement.excluded.version},
                                             where=table.c.version < statement.excluded.version)
    with Session(engine) as session:
        assert _statements_sent(engine, lambda: session.execute(upsert, rows)) == 2500  # what insert_many avoids
        session.rollback()
        assert _statements_sent(engine, lambda: insert_many(session, upsert, rows)) == 3
        insert_many(session, upsert, [{"id": 7, "version": 2}, {"id": 8, "version": 1}])
        insert_many(session, upsert, [])
        kept = dict(session.execute(select(table.c.id, table.c.version).where(table.c.id.in_([7, 8, 9]))).all())
    assert kept == {7: 2, 8: 1, 9: 1}
