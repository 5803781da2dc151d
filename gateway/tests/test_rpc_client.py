"""Integration tests for bimtek_gateway.rpc.NamekoRpcClient.

They need the real RabbitMQ on 127.0.0.1:5672 and run a real nameko service
(``rpc_fixture_service.py``) as a subprocess. Every service gets a unique name
so parallel sessions never share queues; its ``rpc-<name>`` queue is deleted
at the end of the session.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aio_pika
import pytest
import pytest_asyncio
from aio_pika.exceptions import ChannelNotFoundEntity
from prometheus_client import REGISTRY

from bimtek_shared.contracts.rpc import DEADLINE_HEADER
from bimtek_gateway.rpc import (
    NamekoRpcClient,
    RemoteError,
    ServiceTimeout,
    ServiceUnavailable,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio]

AMQP_URI = os.environ.get("RPC_TEST_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")
_BROKER = urlsplit(AMQP_URI)
AMQP_HOST, AMQP_PORT = _BROKER.hostname or "127.0.0.1", _BROKER.port or 5672
TESTS_DIR = Path(__file__).resolve().parent
NAMEKO_BIN = Path(sys.executable).with_name("nameko")

# Every rpc-<name> queue a service of this session may have created.
_CREATED_SERVICE_NAMES: list[str] = []


def unique_service_name(label: str) -> str:
    name = f"rpc_fixture_{label}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    _CREATED_SERVICE_NAMES.append(name)
    return name


# --------------------------------------------------------------------------
# broker helpers (own short-lived connections, independent of the client)
# --------------------------------------------------------------------------


async def consumer_count(service: str) -> int | None:
    """Consumers on rpc-<service>, or None if the queue does not exist."""
    connection = await aio_pika.connect(AMQP_URI)
    try:
        channel = await connection.channel()
        try:
            queue = await channel.declare_queue(f"rpc-{service}", passive=True)
        except ChannelNotFoundEntity:
            return None
        return queue.declaration_result.consumer_count
    finally:
        await connection.close()


async def wait_for_consumers(service: str, *, present: bool, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        count = await consumer_count(service) or 0
        if (count > 0) == present:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"rpc-{service}: consumers present={not present} after {timeout}s")


async def delete_queues(services: list[str]) -> None:
    connection = await aio_pika.connect(AMQP_URI)
    try:
        for service in services:
            channel = await connection.channel()
            try:
                await channel.queue_delete(f"rpc-{service}")
            except ChannelNotFoundEntity:
                pass  # name never started a service
            finally:
                if not channel.is_closed:
                    await channel.close()
    finally:
        await connection.close()


async def publish_raw_request(service: str, method: str, kwargs: dict[str, Any]) -> None:
    """Publish a nameko request *without* expiration (the control case)."""
    connection = await aio_pika.connect(AMQP_URI)
    try:
        channel = await connection.channel()
        exchange = await channel.get_exchange("nameko-rpc")
        await exchange.publish(
            aio_pika.Message(
                json.dumps({"args": [], "kwargs": kwargs}).encode(),
                content_type="application/json",
                correlation_id=str(uuid.uuid4()),
                reply_to=str(uuid.uuid4()),  # nobody listens: reply is dropped
            ),
            f"{service}.{method}",
            mandatory=True,
        )
    finally:
        await connection.close()


# --------------------------------------------------------------------------
# the nameko fixture service
# --------------------------------------------------------------------------


class FixtureService:
    """A ``nameko run rpc_fixture_service`` subprocess under a unique name."""

    def __init__(self, name: str, workdir: Path) -> None:
        self.name = name
        self.workdir = workdir
        self.call_log = workdir / f"{name}.calls"
        self.output = workdir / f"{name}.out"
        self.config = workdir / "nameko.yaml"
        self.config.write_text(f"AMQP_URI: '{AMQP_URI}'\n")
        self.proc: subprocess.Popen[bytes] | None = None

    def spawn(self) -> None:
        assert self.proc is None or self.proc.poll() is not None
        env = dict(
            os.environ,
            PYTHONPATH=str(TESTS_DIR),
            RPC_FIXTURE_SERVICE_NAME=self.name,
            RPC_FIXTURE_CALL_LOG=str(self.call_log),
        )
        with open(self.output, "ab") as out:
            self.proc = subprocess.Popen(
                [str(NAMEKO_BIN), "run", "--config", str(self.config), "rpc_fixture_service"],
                cwd=self.workdir,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    async def start(self) -> None:
        self.spawn()
        try:
            await wait_for_consumers(self.name, present=True)
        except AssertionError as exc:
            self.terminate()
            log = self.output.read_text()[-3000:]
            raise AssertionError(f"service failed to start:\n{log}") from exc

    def terminate(self) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)  # nameko stops gracefully
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    async def stop(self) -> None:
        await asyncio.to_thread(self.terminate)
        await wait_for_consumers(self.name, present=False, timeout=10)

    def calls(self) -> list[str]:
        if not self.call_log.exists():
            return []
        return self.call_log.read_text().splitlines()


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("rpc_client")


@pytest.fixture(scope="session", autouse=True)
def _cleanup_queues() -> Iterator[None]:
    yield
    if _CREATED_SERVICE_NAMES:
        asyncio.run(delete_queues(_CREATED_SERVICE_NAMES))


@pytest.fixture(scope="session")
def service(workdir: Path) -> Iterator[FixtureService]:
    """The long-running service shared by the non-destructive tests."""
    svc = FixtureService(unique_service_name("shared"), workdir)
    asyncio.run(svc.start())
    yield svc
    svc.terminate()


@pytest.fixture
def private_service(workdir: Path) -> Iterator[FixtureService]:
    """A service only this test stops and restarts (not started yet)."""
    svc = FixtureService(unique_service_name("private"), workdir)
    yield svc
    svc.terminate()


@pytest_asyncio.fixture
async def client() -> AsyncIterator[NamekoRpcClient]:
    async with NamekoRpcClient(AMQP_URI, default_timeout=10.0) as rpc:
        yield rpc


def metric(name: str, **labels: str) -> float:
    """A client metric's value; the caller is labelled ``service="gateway"``, the callee ``target_service``."""
    return REGISTRY.get_sample_value(name, {"service": "gateway", **labels}) or 0.0


# --------------------------------------------------------------------------
# happy paths
# --------------------------------------------------------------------------


async def test_echo_round_trip_with_context(
    client: NamekoRpcClient, service: FixtureService
) -> None:
    calls_before = metric(
        "bimtek_rpc_client_calls_total", target_service=service.name, method="echo", outcome="ok"
    )
    when = datetime(2024, 5, 17, 9, 30, tzinfo=UTC)
    context: dict[str, str | None] = {
        "correlation_id": "req-123",
        "caller_user": "u-42",
        "caller_role": "admin",
        "caller_regency": "3201",
        "language": "id",
        "unset": None,  # None headers are dropped, as nameko does
    }

    result = await client.call(
        service.name,
        "echo",
        args=[1, "two"],
        kwargs={"name": "Budi", "when": when, "fee": Decimal("12.50")},
        context=context,
        endpoint="create_registration",
    )

    assert result["args"] == [1, "two"]
    # kombu-style envelopes round-trip as native types
    assert result["kwargs"] == {"name": "Budi", "when": when, "fee": Decimal("12.50")}
    received = result["context"]
    stack = received.pop("call_id_stack")
    # The deadline (epoch milliseconds) lets a service drop a request its caller gave up on.
    deadline_ms = received.pop(DEADLINE_HEADER)
    assert 0 < deadline_ms / 1000 - time.time() <= 10
    assert received == {k: v for k, v in context.items() if v is not None}
    assert len(stack) == 1 and stack[0].startswith("gateway.create_registration.")
    uuid.UUID(stack[0].rsplit(".", 1)[1])

    assert (
        metric("bimtek_rpc_client_calls_total", target_service=service.name, method="echo", outcome="ok")
        == calls_before + 1
    )
    assert (
        metric("bimtek_rpc_client_call_duration_seconds_count", target_service=service.name, method="echo")
        >= 1
    )


async def test_two_hundred_concurrent_calls(
    client: NamekoRpcClient, service: FixtureService
) -> None:
    results = await asyncio.gather(
        *(
            client.call(service.name, "echo", kwargs={"i": i}, context={"correlation_id": f"c{i}"})
            for i in range(200)
        )
    )
    for i, result in enumerate(results):
        assert result["kwargs"] == {"i": i}
        assert result["context"]["correlation_id"] == f"c{i}"
    assert client.in_flight == 0


async def test_is_available(client: NamekoRpcClient, service: FixtureService) -> None:
    assert await client.is_available(service.name) is True
    assert await client.is_available(unique_service_name("ghost")) is False
    # the probe channel survives a 404 on a missing queue
    assert await client.is_available(service.name) is True


# --------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------


async def test_remote_error_fields(client: NamekoRpcClient, service: FixtureService) -> None:
    with pytest.raises(RemoteError) as info:
        await client.call(service.name, "fail", kwargs={"message": "kuota penuh"})
    err = info.value
    assert err.exc_type == "FixtureError"
    assert err.exc_path == "rpc_fixture_service.FixtureError"
    assert err.exc_args == ["kuota penuh", "42"]  # nameko stringifies non-str args
    assert err.value == "('kuota penuh', 42)"
    assert (
        metric(
            "bimtek_rpc_client_calls_total",
            target_service=service.name,
            method="fail",
            outcome="remote_error",
        )
        >= 1
    )

    with pytest.raises(RemoteError) as info:
        await client.call(service.name, "no_such_method")
    assert info.value.exc_type == "MethodNotFound"


async def test_timeout_on_slow_call_and_late_reply_dropped(
    client: NamekoRpcClient, service: FixtureService
) -> None:
    started = time.monotonic()
    with pytest.raises(ServiceTimeout) as info:
        await client.call(
            service.name, "slow", kwargs={"seconds": 1.0, "marker": "late"}, timeout=0.3
        )
    assert 0.25 < time.monotonic() - started < 1.0
    assert (info.value.service, info.value.method) == (service.name, "slow")
    assert client.in_flight == 0
    assert (
        metric(
            "bimtek_rpc_client_calls_total", target_service=service.name, method="slow", outcome="timeout"
        )
        >= 1
    )

    # The service still finishes and replies; that reply must be ignored and
    # must not be mistaken for the answer to a later call.
    await asyncio.sleep(1.0)
    assert (
        await client.call(service.name, "slow", kwargs={"seconds": 0, "marker": "fresh"}) == "fresh"
    )
    assert client.in_flight == 0


async def test_never_started_service_is_unavailable_at_once(client: NamekoRpcClient) -> None:
    ghost = unique_service_name("ghost")
    for _ in range(3):  # also repeatedly: no negative caching, still fast
        started = time.monotonic()
        with pytest.raises(ServiceUnavailable) as info:
            await client.call(ghost, "echo", timeout=5)
        assert time.monotonic() - started < 0.5
        assert info.value.service == ghost
    assert await consumer_count(ghost) is None  # probing did not create the queue
    assert (
        metric("bimtek_rpc_client_calls_total", target_service=ghost, method="echo", outcome="unavailable")
        == 3
    )


async def test_unroutable_request_is_returned_as_unavailable(client: NamekoRpcClient) -> None:
    # A queue that looks alive (has a consumer) but is not bound to the RPC
    # exchange: only the mandatory flag can tell that nobody gets the request.
    ghost = unique_service_name("unbound")
    connection = await aio_pika.connect(AMQP_URI)
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(f"rpc-{ghost}", auto_delete=True)

        async def ignore(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            pass

        await queue.consume(ignore, no_ack=True)
        started = time.monotonic()
        with pytest.raises(ServiceUnavailable) as info:
            await client.call(ghost, "echo", timeout=5)
        assert time.monotonic() - started < 0.5
        assert "returned" in info.value.reason
    finally:
        await connection.close()


# --------------------------------------------------------------------------
# service stop / restart
# --------------------------------------------------------------------------


async def test_stopped_service_unavailable_then_noticed_when_back(
    client: NamekoRpcClient, private_service: FixtureService
) -> None:
    svc = private_service
    await svc.start()
    assert (await client.call(svc.name, "echo", kwargs={"n": 1}))["kwargs"] == {"n": 1}

    await svc.stop()
    assert await consumer_count(svc.name) == 0  # durable queue is still there
    await asyncio.sleep(1.1)  # let the positive availability answer expire
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable):
        await client.call(svc.name, "echo", kwargs={"n": 2}, timeout=5)
    assert time.monotonic() - started < 0.5
    assert await client.is_available(svc.name) is False

    await svc.start()
    # No negative caching: the very first call after the consumer is back works.
    assert (await client.call(svc.name, "echo", kwargs={"n": 3}))["kwargs"] == {"n": 3}


async def test_request_sent_to_stopped_service_expires_and_is_not_run_later(
    private_service: FixtureService,
) -> None:
    svc = private_service
    await svc.start()
    # Trust the "available" answer for long so the request really gets
    # published into the durable queue after the service is gone.
    async with NamekoRpcClient(AMQP_URI, availability_ttl=120) as rpc:
        await rpc.call(svc.name, "echo", kwargs={"marker": "warm"})
        await svc.stop()

        with pytest.raises(ServiceTimeout):
            await rpc.call(svc.name, "echo", kwargs={"marker": "stale"}, timeout=0.5)
        # After a timeout the cache is dropped: next call is refused at once.
        with pytest.raises(ServiceUnavailable):
            await rpc.call(svc.name, "echo", kwargs={"marker": "refused"}, timeout=5)

        # Control: a request without expiration does survive the outage,
        # which proves the check below would catch a stale execution.
        await publish_raw_request(svc.name, "echo", {"marker": "control"})

        await svc.start()
        assert (await rpc.call(svc.name, "echo", kwargs={"marker": "fresh"}))["kwargs"] == {
            "marker": "fresh"
        }
        await asyncio.sleep(0.5)

    calls = svc.calls()
    assert "echo warm" in calls and "echo fresh" in calls
    assert "echo control" in calls
    assert "echo stale" not in calls
    assert "echo refused" not in calls


# --------------------------------------------------------------------------
# broker outage (simulated with a TCP proxy so the shared broker stays up)
# --------------------------------------------------------------------------


class TcpProxy:
    """Forwards a local port to RabbitMQ; ``cut()`` simulates a broker outage."""

    def __init__(self) -> None:
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()  # refuse new connections ...
        for writer in list(self._writers):  # ... and drop the live ones
            writer.transport.abort()
        self._writers.clear()
        await self._server.wait_closed()
        self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(AMQP_HOST, AMQP_PORT)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.transport.abort()
                self._writers.discard(dst)

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


async def test_broker_outage_fails_fast_and_recovers(service: FixtureService) -> None:
    proxy = TcpProxy()
    await proxy.start()
    uri = f"amqp://guest:guest@127.0.0.1:{proxy.port}/?reconnect_interval=0.3"
    async with NamekoRpcClient(uri) as rpc:
        assert (await rpc.call(service.name, "echo", kwargs={"n": 1}))["kwargs"] == {"n": 1}
        assert rpc.is_connected

        # A call in flight when the connection drops fails at once, not at timeout.
        in_flight = asyncio.create_task(
            rpc.call(service.name, "slow", kwargs={"seconds": 1.0}, timeout=10)
        )
        await asyncio.sleep(0.2)
        started = time.monotonic()
        await proxy.cut()
        with pytest.raises(ServiceUnavailable):
            await in_flight
        assert time.monotonic() - started < 0.5

        # During the outage calls fail fast instead of hanging.
        for _ in range(3):
            started = time.monotonic()
            with pytest.raises(ServiceUnavailable):
                await rpc.call(service.name, "echo", timeout=5)
            assert time.monotonic() - started < 0.5
        assert await rpc.is_available(service.name) is False
        assert not rpc.is_connected
        await asyncio.sleep(1.0)  # a few failed reconnect attempts

        await proxy.start()  # broker "back"
        deadline = time.monotonic() + 15
        while True:
            try:
                result = await rpc.call(service.name, "echo", kwargs={"n": 2}, timeout=2)
                break
            except ServiceUnavailable:
                assert time.monotonic() < deadline, "client did not reconnect"
                await asyncio.sleep(0.1)
        # Works only if the reply queue, its binding and consumer were restored.
        assert result["kwargs"] == {"n": 2}
        assert rpc.is_connected
        results = await asyncio.gather(
            *(rpc.call(service.name, "echo", kwargs={"i": i}) for i in range(50))
        )
        assert [r["kwargs"]["i"] for r in results] == list(range(50))
        assert rpc.in_flight == 0
    await proxy.cut()
