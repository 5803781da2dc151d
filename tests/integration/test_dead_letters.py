"""Retries and dead letters with a real consumer process whose handler fails on demand.

``poison_service.DrillConsumer`` runs as its own process (``drill.py``) on the session's private
RabbitMQ and a database of its own; the test publishes ``drill.pinged`` envelopes to
``drill.events`` as any producer's relay would.
"""
from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime, timezone

import pytest

from bimtek_shared.messaging.topology import retry_queue_name
from bimtek_shared.ops import dead_letters
from tests.integration.drill import DEAD, QUEUE, Drill, ping, start_drill
from tests.integration.harness import RETRY_DELAYS_MS, metric_value, wait_until
from tests.support.servers import PrivatePostgres, PrivateRabbitMQ

pytestmark = pytest.mark.integration

TRIES = len(RETRY_DELAYS_MS) + 1  # the first try and one per retry delay


@pytest.fixture(scope="module")
def drill(
    rabbit_server: PrivateRabbitMQ, pg_server: PrivatePostgres, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Drill]:
    with start_drill(rabbit_server.amqp_uri, pg_server.url(""), "it_drill", tmp_path_factory.mktemp("drill")) as running:
        yield running


def test_poison_messages_are_retried_then_parked_and_replayed(drill: Drill) -> None:
    poison = {0, 26, 52}
    messages = [ping(n, fail=n in poison) for n in range(53)]
    poison_ids = {messages[n][0] for n in poison}

    drill.publish(messages)

    # Good events flow past the poison ones; each poison one is tried, retried, then parked.
    wait_until(lambda: drill.processed() == 50, timeout=30, message=lambda: f"processed {drill.processed()}")
    wait_until(lambda: drill.depth(DEAD) == 3, timeout=30, message=lambda: f"dead letters {drill.depth(DEAD)}")
    assert drill.processed() == 50
    assert drill.depth(QUEUE) == 0
    assert all(drill.depth(retry_queue_name(QUEUE, d)) == 0 for d in RETRY_DELAYS_MS)

    letters = list(dead_letters.list_dead_letters(drill.amqp_uri, "drill_consumer"))
    assert {letter.event_id for letter in letters} == poison_ids
    for letter in letters:
        assert letter.queue == DEAD
        assert letter.event_type == "drill.pinged"
        assert letter.attempts == TRIES, letter  # the x-bimtek-attempt header
        assert letter.error.startswith("PoisonError: drill ")
        assert datetime.fromisoformat(letter.failed_at) <= datetime.now(timezone.utc)
    # Independently of the headers: the handler failed exactly TRIES times on each poison event
    # alone, after at most one failed batch that held it (a failed batch is handled one by one).
    tries = drill.failed_tries()
    for n in poison:
        assert [size for m, size in tries if m == n and size == 1] == [1] * TRIES, tries
        assert len([size for m, size in tries if m == n and size > 1]) <= 1, tries
    # Peeking did not take them away.
    assert drill.depth(DEAD) == 3

    listing = drill.ops_cli("dlq", "list", "--queue", "drill")
    assert f"     3  {DEAD}" in listing
    for event_id in poison_ids:
        assert f"- drill.pinged {event_id} tries={TRIES} " in listing

    def metrics_settled() -> bool:
        text = drill.metrics()
        return metric_value(text, "bimtek_dead_letter_messages", service="drill_consumer", queue=DEAD) == 3
    wait_until(metrics_settled, timeout=15, interval=0.5, message=lambda: drill.metrics())  # gauge refresh: 5 s
    assert drill.handled("dead_lettered") == 3
    assert drill.handled("retried") == 3 * len(RETRY_DELAYS_MS)
    assert drill.handled("ok") == 50

    # Fix the "bug", replay: each is handled once, nothing stays parked.
    drill.marker.unlink()
    assert drill.ops_cli("dlq", "replay", "--queue", "drill").strip() == "replayed 3 dead letter(s)"

    wait_until(lambda: drill.processed() == 53, timeout=15, message=lambda: f"processed {drill.processed()}")
    assert drill.depth(DEAD) == 0
    assert drill.handled("ok") == 53
    assert drill.failed_tries() == tries  # no further failures
    assert "     0  " + DEAD in drill.ops_cli("dlq", "list", "--queue", "drill")


def test_an_invalid_envelope_is_parked_at_once(drill: Drill) -> None:
    retried_before = drill.handled("retried")
    parked_before = drill.handled("dead_lettered")
    event_id, body = ping(1000, fail=False)
    envelope = json.loads(body)
    del envelope["regency"]  # the tenant is mandatory: this can never be handled

    drill.publish([(event_id, json.dumps(envelope))])

    wait_until(lambda: drill.depth(DEAD) == 1, timeout=10, message=lambda: f"dead letters {drill.depth(DEAD)}")
    (letter,) = dead_letters.list_dead_letters(drill.amqp_uri, "drill_consumer")
    assert letter.event_id == event_id
    assert letter.attempts == 0  # parked without a single retry
    assert letter.error.startswith("ContractViolation: invalid envelope: regency")
    assert drill.handled("retried") == retried_before
    assert drill.handled("dead_lettered") == parked_before + 1
    time.sleep(max(RETRY_DELAYS_MS) / 1000 + 0.3)  # a retry, had there been one, would be back by now
    assert drill.depth(DEAD) == 1 and drill.handled("retried") == retried_before

    drill.purge(DEAD)  # leave the queue as found


def test_deliveries_finished_behind_a_long_job_are_acked_without_waiting_for_it(
    drill: Drill, rabbit_server: PrivateRabbitMQ
) -> None:
    """Acks settle a finished run of deliveries in one frame (multiple=True); deliveries that finish
    behind a still-running one must not wait for it, or a long job would keep the queue's prefetch
    full of finished messages."""
    before = drill.processed()
    drill.publish([ping(1000, fail=False, hold_ms=10000)])
    time.sleep(0.3)  # its batch has started alone and holds the oldest delivery tag
    drill.publish([ping(1001 + n, fail=False) for n in range(40)])

    wait_until(lambda: drill.processed() == before + 40, timeout=5, message=lambda: f"processed {drill.processed()}")
    # While the long one runs: only it is unacked (its 40 successors were acked singly).
    wait_until(lambda: rabbit_server.unacked(QUEUE) == 1, timeout=3, interval=0.2,
               message=lambda: f"unacked {rabbit_server.unacked(QUEUE)}")
    wait_until(lambda: drill.processed() == before + 41, timeout=20, message=lambda: f"processed {drill.processed()}")
    wait_until(lambda: rabbit_server.unacked(QUEUE) == 0, timeout=5, interval=0.2,
               message=lambda: f"unacked {rabbit_server.unacked(QUEUE)}")
    assert drill.depth(QUEUE) == 0
