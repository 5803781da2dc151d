"""The private test servers survive restarts/crashes and leave the shared instances alone."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
from kombu import Connection, Exchange, Queue

from tests.support.servers import PrivatePostgres, PrivateRabbitMQ

# Provides the private_rabbitmq / private_postgres fixtures.
pytest_plugins = ["tests.support.fixtures"]
pytestmark = pytest.mark.integration

SHARED_AMQP_URI = "amqp://guest:guest@127.0.0.1:5672//"
SHARED_RABBIT_PIDFILE = Path("/var/lib/rabbitmq/mnesia/rabbit@localhost.pid")
SHARED_PG_PIDFILE = Path("/var/lib/postgresql/15/main/postmaster.pid")


def _first_line(path: Path) -> str | None:
    try:
        return path.read_text().splitlines()[0].strip()
    except (OSError, IndexError):
        return None


@pytest.fixture(scope="module", autouse=True)
def shared_pids() -> Iterator[dict[str, str | None]]:
    # Autouse + module scope: taken before the private servers boot.
    yield {"rabbit": _first_line(SHARED_RABBIT_PIDFILE), "postgres": _first_line(SHARED_PG_PIDFILE)}


def _queue(name: str) -> Queue:
    exchange = Exchange(f"{name}.x", type="direct", durable=True)
    return Queue(name, exchange=exchange, routing_key=name, durable=True)


def _publish_persistent(uri: str, queue: Queue, body: str) -> None:
    # Publisher confirms: the broker acks only once the persistent message is on disk.
    with Connection(uri, transport_options={"confirm_publish": True}) as conn:
        conn.Producer().publish(
            body, exchange=queue.exchange, routing_key=queue.routing_key, declare=[queue], delivery_mode=2
        )


def _get_one(uri: str, queue: Queue) -> str | None:
    with Connection(uri) as conn:
        message = queue(conn.default_channel).get(no_ack=True)
        return None if message is None else message.decode()


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def test_rabbitmq_persistent_message_survives_restart(private_rabbitmq: PrivateRabbitMQ) -> None:
    uri = private_rabbitmq.amqp_uri
    assert private_rabbitmq.port != 5672
    queue = _queue("servers-test.restart")
    _publish_persistent(uri, queue, "hello across a restart")

    private_rabbitmq.restart()

    assert _get_one(uri, queue) == "hello across a restart"


def test_rabbitmq_persistent_message_survives_kill(private_rabbitmq: PrivateRabbitMQ) -> None:
    uri = private_rabbitmq.amqp_uri
    queue = _queue("servers-test.kill")
    _publish_persistent(uri, queue, "hello across a crash")
    beam = private_rabbitmq.beam_pid

    private_rabbitmq.kill()
    assert not private_rabbitmq.is_running
    assert beam is not None and not Path(f"/proc/{beam}").exists()
    assert not _port_open(private_rabbitmq.port)
    private_rabbitmq.start()

    assert _get_one(uri, queue) == "hello across a crash"


def test_postgres_committed_row_survives_kill(private_postgres: PrivatePostgres) -> None:
    assert private_postgres.port != 5432
    private_postgres.create_database("servers_test")
    url = private_postgres.url("servers_test")
    conn = psycopg2.connect(url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("CREATE TABLE t (id int PRIMARY KEY, name text)")
            cur.execute("INSERT INTO t VALUES (1, 'survivor')")
    finally:
        conn.close()

    private_postgres.kill()
    assert not private_postgres.is_running
    assert not _port_open(private_postgres.port)
    private_postgres.start()

    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT name FROM t WHERE id = 1")
            assert cur.fetchone() == ("survivor",)
    finally:
        conn.close()


def test_postgres_restart(private_postgres: PrivatePostgres) -> None:
    private_postgres.restart()
    conn = psycopg2.connect(private_postgres.url())
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
            assert cur.fetchone() == (1,)
    finally:
        conn.close()


def test_shared_instances_untouched(shared_pids: dict[str, str | None]) -> None:
    # Runs last in this module, i.e. after all the killing above.
    with Connection(SHARED_AMQP_URI, connect_timeout=5) as conn:
        conn.connect()
        assert conn.connected
    assert _port_open(5432)
    assert _first_line(SHARED_RABBIT_PIDFILE) == shared_pids["rabbit"]
    assert _first_line(SHARED_PG_PIDFILE) == shared_pids["postgres"]
