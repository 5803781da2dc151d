"""Pooled connections are tested only after idling, and a connection cut while idle is replaced."""
from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.ext.asyncio import create_async_engine

from bimtek_shared.sql_pool import ping_connections_idle_for

pytestmark = pytest.mark.integration

URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"


def _terminate(backend_pid: int) -> None:
    admin = create_engine(URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend_pid}).scalar()
    finally:
        admin.dispose()


def _count_pings(engine) -> list[int]:
    pings: list[int] = []
    original = engine.dialect.do_ping

    def counting_ping(dbapi_connection):
        pings.append(1)
        return original(dbapi_connection)

    engine.dialect.do_ping = counting_ping
    return pings


def test_a_connection_back_in_use_at_once_is_not_pinged_and_an_idle_one_is():
    engine = create_engine(URL, pool_size=1, max_overflow=0)
    ping_connections_idle_for(engine, seconds=0.3)
    pings = _count_pings(engine)
    try:
        for _ in range(5):
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        assert pings == []
        time.sleep(0.4)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        assert pings == [1]
    finally:
        engine.dispose()


def test_a_connection_cut_while_idle_is_replaced_before_use():
    engine = create_engine(URL, pool_size=1, max_overflow=0)
    ping_connections_idle_for(engine, seconds=0.2)
    try:
        with engine.connect() as conn:
            first_backend = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        _terminate(first_backend)
        time.sleep(0.3)
        with engine.connect() as conn:  # without the ping this would fail: the pooled socket is dead
            second_backend = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        assert second_backend != first_backend
    finally:
        engine.dispose()


def test_the_gateways_asyncio_engine_replaces_a_connection_cut_while_idle():
    async def scenario() -> tuple[int, int]:
        engine = create_async_engine(URL.replace("+psycopg2", "+asyncpg"), pool_size=1, max_overflow=0)
        ping_connections_idle_for(engine.sync_engine, seconds=0.2)
        try:
            async with engine.connect() as conn:
                first = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar()
            await asyncio.to_thread(_terminate, first)
            await asyncio.sleep(0.3)
            async with engine.connect() as conn:
                second = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar()
            return first, second
        finally:
            await engine.dispose()

    first, second = asyncio.run(scenario())
    assert second != first
