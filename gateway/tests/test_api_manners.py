"""Idempotency keys, rate limits and body limits, against real servers.

The module runs the whole system (``tests.integration.harness.System``: the three services and the
gateway as processes) on a private RabbitMQ (so no other stack on the machine answers our RPC calls)
and on the shared PostgreSQL under uniquely named databases, dropped at the end. Redis is the shared
one on 127.0.0.1:6379 (the rate limit keys are named after this module's gateway database, so no
other stack shares them), except where a test stops Redis: that one is a private redis-server.

Besides the gateway process, tests run more gateway replicas in this process (``replica``), built by
``create_app`` on the same database, broker and Redis, as a second container would be.
"""
from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg2
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY

from bimtek_gateway.app import create_app
from bimtek_gateway.housekeeping import purge_expired
from bimtek_gateway.settings import GatewaySettings
from tests.integration.harness import RPC_TIMEOUT_SECONDS, System, participant_body, wait_until
from tests.support.fixtures import private_rabbitmq  # noqa: F401 -- a fixture
from tests.support.servers import free_port

pytestmark = [pytest.mark.integration]

POSTGRES_URL = os.environ.get("POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
LOCK_SECONDS = 4.0  # a claim lapses this long after its request started (> the 2 s RPC timeout)
UNITS = ("registration", "scheduling", "certificates", "gateway")


@pytest.fixture(scope="module")
def system(private_rabbitmq, tmp_path_factory) -> Iterator[System]:  # noqa: F811
    prefix = f"manners_{uuid.uuid4().hex[:8]}"
    running = System.up(
        state_dir=tmp_path_factory.mktemp("stack"), amqp_uri=private_rabbitmq.amqp_uri, postgres_url=POSTGRES_URL,
        database_prefix=prefix,
        extra_env={"IDEMPOTENCY_LOCK_SECONDS": str(LOCK_SECONDS), "REDIS_URL": REDIS_URL},
    )
    try:
        yield running
    finally:
        running.close()
        connection = psycopg2.connect(f"{POSTGRES_URL}/postgres")
        connection.autocommit = True
        with connection.cursor() as cursor:
            for unit in UNITS:
                cursor.execute(f'DROP DATABASE IF EXISTS "{prefix}_{unit}" WITH (FORCE)')
        connection.close()


@dataclass
class Replica:
    app: FastAPI
    api: httpx.AsyncClient


@asynccontextmanager
async def replica(system: System, client_ip: str = "127.0.0.1", **settings: object) -> AsyncIterator[Replica]:
    """Another gateway on the same database, broker and Redis, signed in as the system's operator."""
    app = create_app(GatewaySettings(**{
        "database_url": system.dsn("gateway"), "amqp_uri": system.stack.amqp_uri, "redis_url": REDIS_URL,
        "rpc_timeout_seconds": RPC_TIMEOUT_SECONDS, "idempotency_lock_seconds": LOCK_SECONDS, **settings}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=(client_ip, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway", timeout=15,
                                     headers={"Authorization": system.api.headers["Authorization"]}) as api:
            yield Replica(app, api)


def participants(system: System) -> int:
    return system.count("registration", "participants")


def records(system: System, key: str) -> list[tuple]:
    return system.query("gateway", "SELECT state, response_status, locked_until FROM idempotency_keys WHERE key = %s",
                        (key,))


@contextmanager
def registration_paused(system: System) -> Iterator[None]:
    """SIGSTOP the registration service: calls to it hang until the gateway's RPC timeout."""
    pid = system.stack.pid("registration")
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def database_now_is_past(system: System, moment) -> bool:
    return system.query("gateway", "SELECT now() > %s", (moment,))[0][0]


# --------------------------------------------------------------------------- idempotency


@pytest.mark.asyncio
async def test_a_retry_gets_the_first_answer_back_and_registers_nobody_twice(system):
    body, key = participant_body(), str(uuid.uuid4())
    before = participants(system)
    first = system.api.post("/api/v1/participants", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers

    again = system.api.post("/api/v1/participants", json=body, headers={"Idempotency-Key": key})
    async with replica(system) as other:
        elsewhere = await other.api.post("/api/v1/participants", json=body, headers={"Idempotency-Key": key})
    for retry in (again, elsewhere):
        assert retry.status_code == 201
        assert retry.content == first.content
        for header in ("content-type", "location", "content-language"):
            assert retry.headers.get(header) == first.headers.get(header)
        assert retry.headers["idempotent-replayed"] == "true"
        assert retry.headers["x-request-id"] != first.headers["x-request-id"]  # a request of its own
    assert participants(system) == before + 1
    assert [(state, status) for state, status, _ in records(system, key)] == [("completed", 201)]
    # Without the key the same body runs again, and the registration refuses the duplicate NIK.
    assert system.api.post("/api/v1/participants", json=body).json()["code"] == "participant_already_registered"


@pytest.mark.asyncio
async def test_a_key_used_for_another_request_is_refused_in_both_languages(system):
    key = str(uuid.uuid4())
    assert system.api.post("/api/v1/participants", json=participant_body(),
                           headers={"Idempotency-Key": key}).status_code == 201
    before = participants(system)
    other_body = system.api.post("/api/v1/participants", json=participant_body(), headers={"Idempotency-Key": key})
    assert other_body.status_code == 422
    assert other_body.headers["content-type"] == "application/problem+json"
    assert other_body.json()["code"] == "idempotency_key_reused"
    assert other_body.json()["detail"].startswith("Idempotency-Key ini sudah dipakai")
    other_path = system.api.post("/api/v1/participant-imports", json={"rows": [participant_body()]},
                                 headers={"Idempotency-Key": key, "Accept-Language": "en"})
    assert other_path.status_code == 422
    assert other_path.json()["detail"].startswith("This Idempotency-Key was already used for a different request")
    assert participants(system) == before


def post_in_background(pool: ThreadPoolExecutor, system: System, body: dict, key: str):
    """POST /api/v1/participants from another thread, on a connection of its own."""
    def post() -> httpx.Response:
        with httpx.Client(base_url=system.stack.gateway_url, timeout=15, headers=dict(system.api.headers)) as client:
            return client.post("/api/v1/participants", json=body, headers={"Idempotency-Key": key})
    return pool.submit(post)


def test_a_retry_while_the_first_runs_gets_409_and_a_5xx_is_not_kept(system):
    body, key = participant_body(), str(uuid.uuid4())
    with registration_paused(system), ThreadPoolExecutor(1) as pool:
        first = post_in_background(pool, system, body, key)
        wait_until(lambda: records(system, key), timeout=5, message="the first request's record")
        racing = [system.api.post("/api/v1/participants", json=body,
                                  headers={"Idempotency-Key": key, "Accept-Language": language})
                  for language in ("id", "en")]
        timed_out = first.result()
    for answer in racing:
        assert answer.status_code == 409
        assert answer.json()["code"] == "idempotency_request_in_flight"
        assert int(answer.headers["retry-after"]) >= 1
    assert racing[0].json()["detail"].startswith("Permintaan dengan Idempotency-Key ini masih diproses")
    assert racing[1].json()["detail"].startswith("A request with this Idempotency-Key is still being processed")
    assert timed_out.status_code == 504  # registration never answered in time
    assert records(system, key) == []  # a 5xx is not kept ...
    retried = system.api.post("/api/v1/participants", json=body, headers={"Idempotency-Key": key})
    assert retried.status_code == 201, retried.text  # ... so the retry runs, and this time it works
    assert "idempotent-replayed" not in retried.headers


@pytest.mark.asyncio
async def test_of_two_simultaneous_requests_with_one_key_only_one_runs(system):
    body, key = participant_body(), str(uuid.uuid4())
    before = participants(system)
    async with replica(system) as a, replica(system) as b:
        answers = await asyncio.gather(*[
            gateway.api.post("/api/v1/participants", json=body, headers={"Idempotency-Key": key})
            for gateway in (a, b, a, b)])
    # Each of the others was told to wait, or (had the first finished) got its answer: none ran.
    outcomes = sorted("ran" if answer.status_code == 201 and "idempotent-replayed" not in answer.headers
                      else "replayed" if answer.status_code == 201 else answer.json()["code"] for answer in answers)
    assert outcomes.count("ran") == 1, outcomes
    assert set(outcomes) <= {"ran", "replayed", "idempotency_request_in_flight"}, outcomes
    assert participants(system) == before + 1


@pytest.mark.asyncio
async def test_expired_records_are_ignored_and_purged(system):
    key = str(uuid.uuid4())
    async with replica(system, idempotency_ttl_seconds=1) as short_lived:
        assert (await short_lived.api.post("/api/v1/participants", json=participant_body(),
                                           headers={"Idempotency-Key": key})).status_code == 201
        expires_at = system.query("gateway", "SELECT expires_at FROM idempotency_keys WHERE key = %s", (key,))[0][0]
        wait_until(lambda: database_now_is_past(system, expires_at), timeout=5)
        # Expired: the key is free again, even for another request.
        reused = await short_lived.api.post("/api/v1/participants", json=participant_body(),
                                            headers={"Idempotency-Key": key})
        assert reused.status_code == 201 and "idempotent-replayed" not in reused.headers
        assert len(records(system, key)) == 1
        expires_at = system.query("gateway", "SELECT expires_at FROM idempotency_keys WHERE key = %s", (key,))[0][0]
        wait_until(lambda: database_now_is_past(system, expires_at), timeout=5)
        assert await purge_expired(short_lived.app.state.sessions, "idempotency records") >= 1
    assert records(system, key) == []
    assert system.count("gateway", "idempotency_keys", "expires_at <= now()") == 0


@pytest.mark.asyncio
async def test_without_its_records_a_keyed_write_is_refused_rather_than_run_unprotected(system):
    missing = f"{POSTGRES_URL}/manners_missing_{uuid.uuid4().hex[:8]}"  # a database that does not exist
    async with replica(system, database_url=missing) as gateway:
        keyed = await gateway.api.post("/api/v1/participants", json=participant_body(),
                                       headers={"Idempotency-Key": str(uuid.uuid4()), "Accept-Language": "en"})
        assert keyed.status_code == 503 and keyed.headers["retry-after"] == "5"
        assert keyed.json()["code"] == "service_unavailable"
        # A write without a key needs no record: it runs (this route needs only the registration service).
        plain = await gateway.api.post("/api/v1/participants", json=participant_body())
        assert plain.status_code == 201, plain.text


@pytest.mark.asyncio
async def test_the_claim_of_a_gateway_that_died_mid_request_lapses(system):
    body, key = participant_body(), str(uuid.uuid4())
    before = participants(system)
    started = time.monotonic()
    try:
        with registration_paused(system):
            with ThreadPoolExecutor(1) as pool:
                doomed = post_in_background(pool, system, body, key)
                wait_until(lambda: records(system, key), timeout=5, message="the first request's record")
                system.stack.kill("gateway")  # SIGKILL: no clean-up of any kind
                with pytest.raises(httpx.TransportError):
                    doomed.result()
            [(state, _, locked_until)] = records(system, key)
            assert state == "in_flight"
            async with replica(system) as survivor:
                held = await survivor.api.post("/api/v1/participants", json=body, headers={"Idempotency-Key": key})
                assert held.status_code == 409  # the claim has not lapsed yet
                # Let the dead request's deadline pass before registration wakes, so it drops that call.
                await asyncio.sleep(max(0.0, RPC_TIMEOUT_SECONDS + 0.5 - (time.monotonic() - started)))
        async with replica(system) as survivor:
            wait_until(lambda: database_now_is_past(system, locked_until), timeout=LOCK_SECONDS + 2)
            taken_over = await survivor.api.post("/api/v1/participants", json=body, headers={"Idempotency-Key": key})
            assert taken_over.status_code == 201, taken_over.text
            assert "idempotent-replayed" not in taken_over.headers
            replayed = await survivor.api.post("/api/v1/participants", json=body, headers={"Idempotency-Key": key})
            assert replayed.headers["idempotent-replayed"] == "true" and replayed.content == taken_over.content
        assert participants(system) == before + 1
    finally:
        system.restart("gateway")


@pytest.mark.asyncio
async def test_bodies_over_the_limit_get_413_and_leave_no_record(system):
    key = str(uuid.uuid4())
    oversized = participant_body(full_name="x" * 1_048_576)
    announced = system.api.post("/api/v1/participants", json=oversized, headers={"Idempotency-Key": key})
    assert announced.status_code == 413
    assert announced.json()["code"] == "payload_too_large"
    assert announced.json()["detail"] == "Data yang dikirim terlalu besar (maksimum 1048576 bita)."

    def chunks() -> Iterator[bytes]:
        yield b'{"full_name": "'
        for _ in range(20):
            yield b"x" * 65536
        yield b'"}'

    streamed = system.api.post("/api/v1/participants", content=chunks(), headers={
        "Idempotency-Key": key, "Content-Type": "application/json", "Accept-Language": "en"})
    assert streamed.status_code == 413
    assert streamed.json()["detail"] == "The request body is too large (at most 1048576 bytes)."
    assert records(system, key) == []
    # Bulk registrations have their own, larger limit: 2 MB is read (and found invalid), 17 MB is not.
    import_key = str(uuid.uuid4())
    two_mb = system.api.post("/api/v1/participant-imports", content=b'{"rows": "' + b"x" * 2_000_000 + b'"}',
                             headers={"Idempotency-Key": import_key, "Content-Type": "application/json"})
    assert two_mb.status_code == 422 and two_mb.json()["code"] == "validation_failed"
    too_big = system.api.post("/api/v1/participant-imports", content=b"x" * (16_777_216 + 1),
                              headers={"Idempotency-Key": str(uuid.uuid4()), "Content-Type": "application/json"})
    assert too_big.status_code == 413


# --------------------------------------------------------------------------- rate limits


def rate_limit_checks(rule: str, outcome: str) -> float:
    return REGISTRY.get_sample_value("bimtek_rate_limit_checks_total",
                                     {"service": "gateway", "rule": rule, "outcome": outcome}) or 0.0


async def sign_in(gateway: Replica, username: str, language: str = "id") -> httpx.Response:
    return await gateway.api.post("/api/v1/auth/token", json={"username": username, "password": "wrong password"},
                                  headers={"Authorization": "", "Accept-Language": language})


@pytest.mark.asyncio
async def test_sign_in_is_limited_per_account_across_replicas(system):
    username = f"nobody.{uuid.uuid4().hex[:8]}"
    limits = {"rate_limit_sign_in_per_account": "3/minute", "rate_limit_sign_in_per_ip": "1000/minute"}
    async with replica(system, **limits) as a, replica(system, **limits) as b:
        answers = [await sign_in(gateway, username) for gateway in (a, b, a)]
        assert [answer.status_code for answer in answers] == [401, 401, 401]
        assert [answer.headers["x-ratelimit-remaining"] for answer in answers] == ["2", "1", "0"]
        limited = await sign_in(b, username.upper())  # the same account, however it is spelled
        assert limited.status_code == 429
        assert limited.headers["content-type"] == "application/problem+json"
        retry_after = int(limited.headers["retry-after"])
        assert 1 <= retry_after <= 20  # 3 a minute: one more every 20 s
        assert limited.json()["code"] == "rate_limited"
        assert limited.json()["detail"] == f"Terlalu banyak permintaan. Silakan coba lagi dalam {retry_after} detik."
        english = await sign_in(a, username, language="en")
        assert english.status_code == 429
        assert english.json()["detail"].startswith("Too many requests. Please try again in")
        assert (await sign_in(a, f"{username}.other")).status_code == 401  # another account is not limited


@pytest.mark.asyncio
async def test_sign_in_is_limited_per_client_address(system):
    limits = {"rate_limit_sign_in_per_ip": "4/minute", "rate_limit_sign_in_per_account": "1000/minute"}
    venue, elsewhere = f"198.51.100.{uuid.uuid4().int % 250 + 1}", "203.0.113.77"
    async with replica(system, client_ip=venue, **limits) as a, replica(system, client_ip=venue, **limits) as b:
        statuses = [(await sign_in(gateway, f"user{n}.{uuid.uuid4().hex[:6]}")).status_code
                    for n, gateway in enumerate((a, b, a, b, a))]
        assert statuses == [401, 401, 401, 401, 429]
    async with replica(system, client_ip=elsewhere, **limits) as other:
        assert (await sign_in(other, "someone")).status_code == 401


@pytest.mark.asyncio
async def test_imports_are_limited_per_user(system):
    async with replica(system, rate_limit_imports_per_user="2/hour") as gateway:
        answers = [await gateway.api.post("/api/v1/participant-imports", json={"rows": [participant_body()]})
                   for _ in range(3)]
    assert [answer.status_code for answer in answers] == [202, 202, 429]
    assert 1700 <= int(answers[2].headers["retry-after"]) <= 1800  # 2 an hour: one more every 30 minutes


@pytest.mark.asyncio
async def test_public_verification_is_limited_per_address(system):
    async with replica(system, rate_limit_public_per_ip="2/minute", client_ip="192.0.2.44") as gateway:
        unknown = "A" * 22  # well-formed (base64url of 16 bytes), issued to nobody
        statuses = [(await gateway.api.get(f"/api/v1/public/certificates/{unknown}")).status_code for _ in range(3)]
    assert statuses == [404, 404, 429]


class PrivateRedis:
    """A throwaway redis-server on a spare port (the shared one must never be stopped)."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.directory)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True,
                                          text=True).stdout.strip() == "PONG", timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.mark.asyncio
async def test_without_redis_requests_go_through_and_the_outage_is_counted(system, tmp_path, caplog):
    redis = PrivateRedis(tmp_path)
    redis.start()
    try:
        limits = {"rate_limit_sign_in_per_account": "2/minute", "redis_url": redis.url}
        async with replica(system, **limits) as gateway:
            username = f"nobody.{uuid.uuid4().hex[:8]}"
            assert [(await sign_in(gateway, username)).status_code for _ in range(3)] == [401, 401, 429]

            redis.stop()
            unavailable = rate_limit_checks("sign_in_ip", "unavailable")
            with caplog.at_level(logging.WARNING, logger="bimtek_gateway.rate_limits"):
                during = [await sign_in(gateway, username) for _ in range(3)]
            # Failing open: the limit is not enforced, sign-in itself still answers.
            assert [answer.status_code for answer in during] == [401, 401, 401]
            assert "x-ratelimit-remaining" not in during[0].headers
            assert rate_limit_checks("sign_in_ip", "unavailable") == unavailable + 3
            assert any("rate limits not enforced" in record.getMessage() for record in caplog.records)

            redis.start()  # empty again: it keeps nothing on disk
            await asyncio.sleep(5.2)  # the limiter leaves Redis alone for 5 s after a failure
            again = f"nobody.{uuid.uuid4().hex[:8]}"
            assert [(await sign_in(gateway, again)).status_code for _ in range(3)] == [401, 401, 429]
    finally:
        redis.stop()
