"""Fixtures of the integration suite: private servers and whole stacks of real processes.

- ``pg_server`` / ``rabbit_server`` (session): private PostgreSQL and RabbitMQ, never the shared
  ones on 5432/5672 (a developer stack may be using those).
- ``system`` (session): the four units as local processes (``LocalStack``) on those servers, with
  short retry delays and a 2 s RPC timeout, and an operator signed in. Tests may stop, SIGKILL or
  SIGSTOP its processes but must leave them running; tests take it as ``running_system``, which
  restarts (and SIGCONTs) anything a failing test left down, so one failure does not cascade.
- ``own_system`` (module): a whole stack of the module's own, on the same servers.
- Tests that restart the broker itself build their own stack on their own ``private_rabbitmq``
  (``tests.support.fixtures``), see ``test_broker_restart.py``.
"""
from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.harness import System
from tests.support.servers import PrivatePostgres, PrivateRabbitMQ


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PrivatePostgres]:
    # A plain /tmp dir: pytest's tmp_path is unreachable for the postgres OS user.
    server = PrivatePostgres(Path(tempfile.mkdtemp(prefix="bimtek-it-pg-")))
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def rabbit_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateRabbitMQ]:
    server = PrivateRabbitMQ(tmp_path_factory.mktemp("rabbitmq"))
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def system(
    pg_server: PrivatePostgres, rabbit_server: PrivateRabbitMQ, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[System]:
    running = System.up(
        state_dir=tmp_path_factory.mktemp("stack"),
        amqp_uri=rabbit_server.amqp_uri,
        postgres_url=pg_server.url("").rstrip("/"),
        database_prefix="it",
    )
    try:
        yield running
    finally:
        running.close()


@pytest.fixture
def running_system(system: System) -> Iterator[System]:
    """The session's system, restarted afterwards if the test left a unit stopped."""
    system.ensure_running()
    yield system
    system.ensure_running()


@pytest.fixture(scope="module")
def own_system(pg_server: PrivatePostgres, rabbit_server: PrivateRabbitMQ, tmp_path_factory: pytest.TempPathFactory,
               request: pytest.FixtureRequest) -> Iterator[System]:
    """A stack of the test module's own (its own vhost and databases), for a module that needs a
    regency untouched by the others: importing the whole of Jombang serves every village of it,
    and the shared stack's tests put teams into some of those villages."""
    name = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    running = System.up(state_dir=tmp_path_factory.mktemp(f"stack-{name}"), amqp_uri=rabbit_server.add_vhost(name),
                        postgres_url=pg_server.url("").rstrip("/"), database_prefix=f"it_{name}")
    try:
        yield running
    finally:
        running.close()
