"""Pytest fixtures for private RabbitMQ / PostgreSQL servers (see ``servers.py``).

Module-scoped because a RabbitMQ boot costs several seconds.  Tests that kill or restart
a server must leave it running again before they return, since later tests in the same
module share it.  Use them by importing, or list this module in ``pytest_plugins`` of the
root conftest::

    from tests.support.fixtures import private_postgres, private_rabbitmq  # noqa: F401
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import PrivatePostgres, PrivateRabbitMQ


@pytest.fixture(scope="module")
def private_rabbitmq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateRabbitMQ]:
    server = PrivateRabbitMQ(tmp_path_factory.mktemp("rabbitmq"))
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def private_postgres() -> Iterator[PrivatePostgres]:
    # Not tmp_path_factory: its root-owned 0700 base dir is unreachable for the postgres
    # OS user the server must run as.  A plain /tmp dir is; close() removes it.
    server = PrivatePostgres(Path(tempfile.mkdtemp(prefix="bimtek-pg-")))
    try:
        server.start()
        yield server
    finally:
        server.close()
