"""``UnitOfWork.autocommit()`` and ``autocommit_connection`` (the outbox relay's): each statement
commits alone, and the pooled connection is transactional again for the next user."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import MetaData, create_engine, text
from sqlalchemy.orm import sessionmaker

from bimtek_shared.persistence.autocommit import autocommit_connection
from bimtek_shared.persistence.messaging_tables import define_messaging_tables
from bimtek_shared.persistence.unit_of_work import UnitOfWork

pytestmark = pytest.mark.integration

URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def new_uow():
    engine = create_engine(URL, pool_size=1, max_overflow=0)  # one connection: every unit reuses it
    table = f"uow_autocommit_{uuid.uuid4().hex[:8]}"
    with engine.begin() as connection:
        connection.execute(text(f"CREATE TABLE {table} (n int)"))
    messaging = define_messaging_tables(MetaData())
    sessions = sessionmaker(engine)
    try:
        yield table, lambda: UnitOfWork(sessions, messaging, correlation_id="t"), engine
    finally:
        with engine.begin() as connection:
            connection.execute(text(f"DROP TABLE {table}"))
        engine.dispose()


def rows(uow: UnitOfWork, table: str) -> list[int]:
    with uow:
        return [n for (n,) in uow.session.execute(text(f"SELECT n FROM {table} ORDER BY n"))]


def test_statements_commit_alone_and_the_connection_is_transactional_again(new_uow) -> None:
    table, new, _ = new_uow
    with new() as uow:
        uow.autocommit()
        uow.session.execute(text(f"INSERT INTO {table} VALUES (1)"))
        uow.session.execute(text("SELECT 1"))
        # No commit(): the insert stands on its own, the unit's exit rolls nothing back.
    assert rows(new(), table) == [1]

    with new() as uow:  # the same pooled connection, in a transaction as usual
        uow.session.execute(text(f"INSERT INTO {table} VALUES (2)"))
        uow.rollback()
        uow.session.execute(text(f"INSERT INTO {table} VALUES (3)"))
    assert rows(new(), table) == [1]  # neither 2 (rolled back) nor 3 (never committed)


def test_a_commit_after_autocommit_gives_the_pool_a_transactional_connection(new_uow) -> None:
    table, new, _ = new_uow
    with new() as uow:
        uow.autocommit()
        uow.session.execute(text(f"INSERT INTO {table} VALUES (1)"))
        uow.commit()  # what the read use cases do after their audit record; the pool has the connection back
        with new() as other:  # so the next unit (another worker's) gets it at once, before this one ends
            other.session.execute(text(f"INSERT INTO {table} VALUES (2)"))
            other.rollback()
    assert rows(new(), table) == [1]


def test_a_broken_connection_in_autocommit_does_not_poison_the_pool(new_uow) -> None:
    table, new, _ = new_uow
    uow = new()
    with pytest.raises(Exception):
        with uow:
            uow.autocommit()
            uow.session.connection().connection.dbapi_connection.close()  # the server went away
    with new() as uow:  # the pool's only connection was replaced, and is transactional
        uow.session.execute(text(f"INSERT INTO {table} VALUES (1)"))
        uow.rollback()
    assert rows(new(), table) == []


def test_an_autocommit_connection_commits_each_statement_and_returns_transactional(new_uow) -> None:
    table, new, engine = new_uow
    with autocommit_connection(engine) as connection:
        connection.execute(text(f"INSERT INTO {table} VALUES (1)"))
        # No commit: the insert stands on its own.
    with engine.connect() as connection:  # the pool's only connection, in a transaction as usual
        connection.execute(text(f"INSERT INTO {table} VALUES (2)"))
        connection.rollback()
    assert rows(new(), table) == [1]
