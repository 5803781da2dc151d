"""RabbitMQ restarts while events are being produced: nothing lost, nothing doubled.

This module has its own RabbitMQ (``private_rabbitmq``, module-scoped) and its own stack on it, so
a broker that does not come back cannot take the other modules' stack down with it.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from tests.integration.harness import (
    CONSUMERS,
    System,
    participant_body,
    participant_dead_letter_queue,
    wait_until,
)
from tests.support.fixtures import private_rabbitmq  # noqa: F401 - fixture
from tests.support.servers import PrivatePostgres, PrivateRabbitMQ

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def broker_system(
    private_rabbitmq: PrivateRabbitMQ,  # noqa: F811
    pg_server: PrivatePostgres,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[System]:
    running = System.up(
        state_dir=tmp_path_factory.mktemp("broker-stack"),
        amqp_uri=private_rabbitmq.amqp_uri,
        postgres_url=pg_server.url("").rstrip("/"),
        database_prefix="itbroker",
    )
    try:
        yield running
    finally:
        running.close()


def test_broker_restart_under_load_loses_and_doubles_nothing(
    broker_system: System, private_rabbitmq: PrivateRabbitMQ  # noqa: F811
) -> None:
    system = broker_system
    registrar = system.registrar()
    ids: list[str] = []
    failures: list[BaseException] = []
    stop = threading.Event()

    def produce() -> None:
        # The registration use case, in-process, against the registration database: it needs no
        # broker, so it keeps registering while RabbitMQ is down; the relay must catch up.
        try:
            while not stop.is_set():
                ids.extend(registrar.register(5, workers=1))
                time.sleep(0.02)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            failures.append(exc)

    producer = threading.Thread(target=produce, name="producer", daemon=True)
    producer.start()
    try:
        wait_until(lambda: len(ids) >= 100, timeout=30, message=lambda: f"only {len(ids)} registered, failures {failures}")
        before_restart = len(ids)
        published_before = system.outbox_state(list(ids))[1]
        private_rabbitmq.restart()
        restarted_at = time.monotonic()
        time.sleep(2.0)  # keep producing after the broker is back
    finally:
        stop.set()
        producer.join(30)
        registrar.close()
    assert not failures, failures
    total = len(ids)
    assert total > before_restart
    assert published_before > 0

    # Wait for the relay and the consumers to catch up. A unit that died of the known ack bug
    # (see test_connection_loss.py) is restarted, as a supervisor would; the data must still come
    # out whole. Any other death fails the test.
    crashed: list[str] = []

    def caught_up() -> bool:
        for unit in system.dead_units():
            log = system.log(unit)
            log = log[log.rfind("starting services"):]  # this run of the unit only
            if not _died_of_the_ack_bug(log):
                raise AssertionError(f"{unit} died after the broker restart:\n{system.stack.log_tail(unit, 60)}")
            crashed.append(unit)
            system.restart(unit)
        return system.consumed(ids)

    wait_until(caught_up, timeout=120, interval=0.25, message=lambda: system.progress(ids))
    caught_up_after = time.monotonic() - restarted_at
    event_ids = system.event_ids_of(ids)

    assert system.outbox_state(ids) == (total, total)
    assert system.count("registration", "outbox", "published_at IS NULL") == 0
    for unit in CONSUMERS:
        assert system.consumer_counts(unit, ids, event_ids) == (total, total)
        assert system.query(unit, "SELECT event_id FROM processed_events GROUP BY 1, consumer HAVING count(*) > 1") == []
        assert system.queue_depth(participant_dead_letter_queue(unit)) == 0

    # Every process is ready again, and the gateway's RPC client reconnected by itself.
    for unit in ("registration", "scheduling", "certificates", "gateway"):
        system.stack.wait_ready(unit, timeout=30)
    last: list[str] = []

    def registers_through_the_gateway() -> bool:
        response = system.api.post("/api/v1/participants", json=participant_body())
        last[:] = [f"{response.status_code} {response.text[:300]}"]
        return response.status_code == 201

    wait_until(registers_through_the_gateway, timeout=30, interval=0.5, message=lambda: f"last answer: {last}")
    print(f"{total} registered ({before_restart} before the restart, {published_before} published); "
          f"all consumed {caught_up_after:.1f}s after the broker was back; crashed and restarted: {crashed}")
    assert not crashed, f"{crashed} died when the broker went away mid-ack (see test_connection_loss.py)"


def _died_of_the_ack_bug(log: str) -> bool:
    """nameko killed the container: an ack on a connection the broker had just reset raised."""
    return "thread exited with error" in log and "ack_message" in log and (
        "ConnectionResetError" in log or "BrokenPipeError" in log)
