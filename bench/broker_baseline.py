"""The raw broker baseline: what plain kombu gets through the same RabbitMQ vhost, same message size.

Four numbers, all with persistent messages on durable queues and the same properties the relay
sets (JSON, message id, correlation id, ``mandatory``):

- ``publish_confirm_each``: kombu ``Producer.publish`` with ``confirm_publish`` (waits for every
  confirm: one broker round trip per message);
- ``publish_confirm_batched``: the same messages on a confirm-mode channel, ``batch`` in flight,
  then wait for all their confirms: the technique the outbox relay uses, without the database;
- ``consume``: one kombu consumer, prefetch 10 (nameko's default ``max_workers``), ack each;
- ``fanout_end_to_end``: the pipeline's shape without the services: one publisher process
  (batched confirms) to a topic exchange with two bound queues, one consumer process per queue
  (prefetch 10, ack each); rate = N / (last message consumed in both - first publish);
- ``fanout_batched_ack``: the same with prefetch 200 and one ``ack(multiple=True)`` per 100
  messages: the ceiling for consumers that handle events in batches.
"""
from __future__ import annotations

import multiprocessing as mp
import time
import uuid
from typing import Any

import amqp
from kombu import Connection, Exchange, Producer, Queue

EXCHANGE = Exchange("bench.raw", type="topic", durable=True, auto_delete=False)
ROUTING_KEY = "participant.registered"
QUEUE_NAMES = ("bench.raw.scheduling", "bench.raw.certificates")
PREFETCH = 10


def _queues() -> list[Queue]:
    return [Queue(name, exchange=EXCHANGE, routing_key=ROUTING_KEY, durable=True, auto_delete=False)
            for name in QUEUE_NAMES]


def declare(uri: str) -> None:
    with Connection(uri) as conn:
        ch = conn.channel()
        EXCHANGE(ch).declare()
        for q in _queues():
            q(ch).declare()
            q(ch).purge()


def purge(uri: str) -> None:
    with Connection(uri) as conn:
        ch = conn.channel()
        for q in _queues():
            q(ch).purge()


def delete(uri: str) -> None:
    with Connection(uri) as conn:
        ch = conn.channel()
        for q in _queues():
            q(ch).delete()
        EXCHANGE(ch).delete()


def publish_confirm_each(uri: str, body: str, n: int) -> float:
    """Messages/s with kombu's per-message publisher confirms."""
    with Connection(uri, transport_options={"confirm_publish": True}) as conn:
        producer = Producer(conn.channel(), exchange=EXCHANGE)
        started = time.perf_counter()
        for _ in range(n):
            producer.publish(body, routing_key=ROUTING_KEY, serializer=None, content_type="application/json",
                             content_encoding="utf-8", delivery_mode=2, message_id=str(uuid.uuid4()),
                             correlation_id="bench", mandatory=True)
        return n / (time.perf_counter() - started)


def publish_confirm_batched(uri: str, body: str, n: int, batch: int = 500) -> tuple[float, float]:
    """Publish n messages, ``batch`` in flight per confirm wait; returns (messages/s, start time)."""
    with Connection(uri) as conn:
        ch = conn.channel()
        ch.confirm_select()
        acked = [0]

        def on_ack(delivery_tag: int, multiple: bool) -> None:
            # RabbitMQ confirms in publish order on a channel: the highest tag seen is the watermark.
            acked[0] = max(acked[0], delivery_tag)

        nacked: list[int] = []
        ch.events["basic_ack"].add(on_ack)
        ch.events["basic_nack"].add(lambda tag, multiple: nacked.append(tag))
        started_wall = time.time()
        started = time.perf_counter()
        sent = 0
        while sent < n:
            size = min(batch, n - sent)
            for _ in range(size):
                ch.basic_publish(
                    amqp.Message(body, content_type="application/json", content_encoding="utf-8",
                                 delivery_mode=2, message_id=str(uuid.uuid4()), correlation_id="bench",
                                 application_headers={}),
                    exchange=EXCHANGE.name, routing_key=ROUTING_KEY, mandatory=True,
                )
            sent += size
            while acked[0] < sent:
                conn.drain_events(timeout=10)
        if nacked:
            raise RuntimeError(f"{len(nacked)} messages nacked")
        return n / (time.perf_counter() - started), started_wall


def consume(uri: str, queue_name: str, n: int, timeout: float = 120.0) -> tuple[float, float, float]:
    """Consume and ack n messages; returns (messages/s from first to last, first, last wall time)."""
    with Connection(uri) as conn:
        ch = conn.channel()
        ch.basic_qos(0, PREFETCH, False)
        queue = next(q for q in _queues() if q.name == queue_name)
        seen = [0]
        first = [0.0]
        last = [0.0]

        def on_message(body: Any, message: Any) -> None:
            if seen[0] == 0:
                first[0] = time.time()
            message.ack()
            seen[0] += 1
            last[0] = time.time()

        with conn.Consumer(queue(ch), callbacks=[on_message], accept=["json"], no_ack=False):
            deadline = time.monotonic() + timeout
            while seen[0] < n and time.monotonic() < deadline:
                try:
                    conn.drain_events(timeout=1)
                except TimeoutError:
                    continue
        if seen[0] < n:
            raise RuntimeError(f"{queue_name}: only {seen[0]} of {n} messages in {timeout:.0f}s")
        span = max(last[0] - first[0], 1e-9)
        return n / span, first[0], last[0]


def _cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _consumer_process(uri: str, queue_name: str, n: int, prefetch: int, ack_every: int, ready: Any,
                      results: Any) -> None:
    # Open the connection and start consuming before the publisher begins.
    with Connection(uri) as conn:
        ch = conn.channel()
        ch.basic_qos(0, prefetch, False)
        queue = next(q for q in _queues() if q.name == queue_name)
        seen = [0]
        last = [0.0]
        cpu0 = [0.0]

        def on_message(body: Any, message: Any) -> None:
            if seen[0] == 0:
                cpu0[0] = _cpu()
            seen[0] += 1
            if seen[0] % ack_every == 0 or seen[0] == n:
                message.ack(multiple=ack_every > 1)
            last[0] = time.time()

        with conn.Consumer(queue(ch), callbacks=[on_message], accept=["json"], no_ack=False):
            ready.set()
            deadline = time.monotonic() + 180
            while seen[0] < n and time.monotonic() < deadline:
                try:
                    conn.drain_events(timeout=1)
                except TimeoutError:
                    continue
        cpu = _cpu() - cpu0[0]
    results.put((queue_name, seen[0], last[0], cpu))


def _publisher_process(uri: str, body: str, n: int, results: Any) -> None:
    cpu0 = _cpu()
    rate, started = publish_confirm_batched(uri, body, n)
    results.put(("publisher", rate, started, _cpu() - cpu0))


def fanout_end_to_end(uri: str, body: str, n: int, prefetch: int = PREFETCH, ack_every: int = 1) -> dict[str, float]:
    from common import broker_pid, process_cpu_seconds

    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    readies = [ctx.Event() for _ in QUEUE_NAMES]
    consumers = [ctx.Process(target=_consumer_process, args=(uri, name, n, prefetch, ack_every, ready, results))
                 for name, ready in zip(QUEUE_NAMES, readies)]
    for p in consumers:
        p.start()
    for ready in readies:
        if not ready.wait(60):
            raise RuntimeError("raw consumer did not start")
    broker = broker_pid()
    broker_cpu0 = process_cpu_seconds(broker) if broker else None
    publisher = ctx.Process(target=_publisher_process, args=(uri, body, n, results))
    publisher.start()
    collected = {}
    for _ in range(3):
        item = results.get(timeout=240)
        collected[item[0]] = item
    broker_cpu = (process_cpu_seconds(broker) - broker_cpu0) if broker_cpu0 is not None else float("nan")
    for p in (*consumers, publisher):
        p.join(30)
    _, publish_rate, started, publisher_cpu = collected["publisher"]
    last = max(collected[name][2] for name in QUEUE_NAMES)
    if any(collected[name][1] < n for name in QUEUE_NAMES):
        raise RuntimeError(f"fan-out lost messages: {collected}")
    return {"events_per_s": n / (last - started), "publish_per_s": publish_rate, "seconds": last - started,
            "cpu_ms_per_event": {
                "publisher": round(1000 * publisher_cpu / n, 3),
                "consumers": round(1000 * sum(collected[q][3] for q in QUEUE_NAMES) / (2 * n), 3),
                "rabbitmq(shared)": round(1000 * broker_cpu / n, 3)}}


def run(uri: str, body: str, n: int, n_confirm_each: int) -> dict[str, Any]:
    declare(uri)
    try:
        each = publish_confirm_each(uri, body, n_confirm_each)
        purge(uri)
        batched, _ = publish_confirm_batched(uri, body, n)
        consumed, _, _ = consume(uri, QUEUE_NAMES[0], n)
        purge(uri)
        fanout = fanout_end_to_end(uri, body, n)
        purge(uri)
        fanout_batched = fanout_end_to_end(uri, body, n, prefetch=200, ack_every=100)
    finally:
        delete(uri)
    return {
        "message_bytes": len(body.encode()),
        "n": n,
        "publish_confirm_each_per_s": round(each, 1),
        "publish_confirm_batched_per_s": round(batched, 1),
        "consume_prefetch10_per_s": round(consumed, 1),
        "fanout_end_to_end_per_s": round(fanout["events_per_s"], 1),
        "fanout_publish_per_s": round(fanout["publish_per_s"], 1),
        "fanout_cpu_ms_per_event": fanout["cpu_ms_per_event"],
        "fanout_batched_ack_end_to_end_per_s": round(fanout_batched["events_per_s"], 1),
        "fanout_batched_ack_cpu_ms_per_event": fanout_batched["cpu_ms_per_event"],
    }
