"""Crashes (SIGKILL) in the middle of a backlog lose nothing and double nothing.

- A consumer killed while working through its durable queue: what it had taken but not acked comes
  back to the queue; what it had committed but not acked comes back too and is recognised by the
  inbox (``processed_events``), so every event has exactly one effect.
- The producer killed while its outbox relay is publishing: rows not yet stamped ``published_at``
  are published again after the restart; consumers absorb the repeats.
"""
from __future__ import annotations

import threading
import time

import pytest

from tests.integration.harness import (
    CONSUMERS,
    System,
    metric_value,
    participant_dead_letter_queue,
    participant_queue,
    wait_until,
)

pytestmark = pytest.mark.integration

BACKLOG = 300


def test_consumer_killed_mid_backlog_handles_every_event_once(running_system: System) -> None:
    system = running_system
    system.stack.stop("scheduling")
    ids = system.register_direct(BACKLOG)
    # Published while scheduling is down: the events wait in its durable queue.
    wait_until(lambda: system.outbox_state(ids) == (BACKLOG, BACKLOG), timeout=30,
               message=lambda: f"outbox {system.outbox_state(ids)}")
    event_ids = system.event_ids_of(ids)
    wait_until(lambda: system.queue_depth(participant_queue("scheduling")) >= BACKLOG, timeout=10,
               message=lambda: f"queue depth {system.queue_depth(participant_queue('scheduling'))}")

    def processed() -> int:
        return system.consumer_counts("scheduling", ids, event_ids)[1]

    system.stack.start("scheduling")
    at_kill = wait_until(lambda: (lambda n: n if BACKLOG * 0.1 <= n <= BACKLOG * 0.8 else 0)(processed()),
                         timeout=60, interval=0.01,
                         message=lambda: f"scheduling processed {processed()} of {BACKLOG} "
                                         "(never seen between 10% and 80%)")
    system.stack.kill("scheduling")
    after_kill = processed()
    assert after_kill < BACKLOG, "the kill came too late to interrupt anything"

    system.restart("scheduling")
    system.wait_consumed(ids, timeout=60)

    rows, handled = system.consumer_counts("scheduling", ids, event_ids)
    assert (rows, handled) == (BACKLOG, BACKLOG)
    assert _duplicates(system, "scheduling", event_ids) == []
    assert system.queue_depth(participant_dead_letter_queue("scheduling")) == 0
    # Certificates ran throughout and was not disturbed.
    assert system.consumer_counts("certificates", ids, event_ids) == (BACKLOG, BACKLOG)
    assert system.queue_depth(participant_dead_letter_queue("certificates")) == 0
    listing = system.ops_cli("dlq", "list")
    for unit in CONSUMERS:
        assert f"     0  {participant_dead_letter_queue(unit)}" in listing, listing
    print(f"scheduling killed at {at_kill}/{BACKLOG} handled ({after_kill} committed when dead); "
          f"after restart: {_outcomes(system, 'scheduling')}")


def test_producer_killed_while_relaying_publishes_every_event_once(running_system: System) -> None:
    system = running_system
    total = 400
    registrar = system.registrar()
    ids: list[str] = []
    failures: list[BaseException] = []

    def produce() -> None:
        try:
            for _ in range(total // 20):
                ids.extend(registrar.register(20, workers=2))
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            failures.append(exc)

    producer = threading.Thread(target=produce, name="producer", daemon=True)
    producer.start()
    try:
        def published_share() -> int:
            snapshot = list(ids)
            return system.outbox_state(snapshot)[1] if snapshot else 0

        at_kill = wait_until(lambda: (lambda n: n if total * 0.1 <= n <= total * 0.8 else 0)(published_share()),
                             timeout=60, interval=0.01,
                             message=lambda: f"published {published_share()} of {total}")
        system.stack.kill("registration")
        killed_at = time.monotonic()
        assert len(ids) < total, "the producer finished before the kill: nothing was left to relay"
        producer.join(60)
        assert not producer.is_alive() and not failures, failures
        backlog = system.outbox_state(ids)
        assert backlog[1] < total, "every row was already published at the kill"
    finally:
        producer.join(60)
        registrar.close()

    system.restart("registration")
    event_ids = system.wait_consumed(ids, timeout=90)

    assert len(ids) == total
    assert system.outbox_state(ids) == (total, total)
    for unit in CONSUMERS:
        assert system.consumer_counts(unit, ids, event_ids) == (total, total)
        assert _duplicates(system, unit, event_ids) == []
        assert system.queue_depth(participant_dead_letter_queue(unit)) == 0
    print(f"registration killed with {at_kill} of {total} published; backlog at restart {backlog}; "
          f"caught up {time.monotonic() - killed_at:.1f}s after the kill; "
          f"scheduling {_outcomes(system, 'scheduling')}, certificates {_outcomes(system, 'certificates')}")


def _duplicates(system: System, unit: str, event_ids: list[str]) -> list[tuple]:
    """Events with more than one inbox row, or participants with more than one row (both must be none)."""
    table = {"scheduling": "participants", "certificates": "roster"}[unit]
    doubled_events = system.query(
        unit, "SELECT event_id, consumer, count(*) FROM processed_events WHERE event_id::text = ANY(%s) "
              "GROUP BY 1, 2 HAVING count(*) > 1", (event_ids,))
    doubled_rows = system.query(
        unit, f"SELECT participant_id, count(*) FROM {table} GROUP BY 1 HAVING count(*) > 1")
    return doubled_events + doubled_rows


def _outcomes(system: System, unit: str) -> dict[str, float]:
    text = system.metrics(unit)
    return {
        outcome: metric_value(text, "bimtek_events_handled_total", service=unit,
                              event_type="participant.registered", outcome=outcome)
        for outcome in ("ok", "duplicate", "retried", "dead_lettered")
    }
