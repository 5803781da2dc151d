"""The event pipeline: registration's outbox -> relay -> RabbitMQ -> scheduling and certificates.

Events are written straight into registration's ``outbox`` table (what ``UnitOfWork.emit`` writes:
a valid ``participant.registered`` envelope built with ``new_event``, aggregate id = participant
id), so the benchmark measures the pipeline and not the registration use case in front of it.
Completion is read from the consumers' own inbox (``processed_events``), so nothing is added to
the services for the benchmark.

Clocks: ``occurred_at`` comes from this process (``datetime.now(timezone.utc)``); ``published_at``
and ``processed_at`` are PostgreSQL's ``now()``, on the same machine and clock. Note that
``now()`` is the start of the writing transaction, so ``processed_at`` marks when the consumer's
handler began its transaction (claim + insert + commit follow, ~1-2 ms); the services' own
``bimtek_event_end_to_end_seconds`` histogram (taken after the handler's commit) is read as a
cross-check.
"""
from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import Any

import psycopg2
import psycopg2.extras
from kombu import Connection

from bimtek_shared.contracts.envelope import new_event
from bimtek_shared.messaging.topology import consumer_queue_name

from common import histogram, histogram_quantile, metrics_text, summarise_ms

EVENT_TYPE = "participant.registered"
CONSUMERS = {
    "scheduling": "scheduling.handle_participant_registered",
    "certificates": "certificates.handle_participant_registered",
}
QUEUES = {unit: consumer_queue_name("registration", EVENT_TYPE, unit, "handle_participant_registered")
          for unit in CONSUMERS}
REGENCY = "35.17"
INSERT_SQL = "INSERT INTO outbox (event_id, event_type, aggregate_id, envelope) VALUES %s"
INSERT_ONE_SQL = ("INSERT INTO outbox (event_id, event_type, aggregate_id, envelope) "
                  "VALUES (%s, %s, %s, %s::jsonb)")


def payload(i: int) -> dict[str, Any]:
    participant_id = uuid.uuid4()
    return {
        "participant_id": str(participant_id),
        "participant_code": f"B{i % 10_000_000:07d}",
        "full_name": f"Peserta Uji {i}",
        "sex": "P" if i % 2 else "L",
        "position_group": "pengurus",
        "position": "ketua",
        "cooperative_id": str(uuid.uuid4()),
        "registered_at": datetime.now(timezone.utc).isoformat(),
    }


def build_event(i: int, correlation_id: str):
    body = payload(i)
    envelope = new_event(EVENT_TYPE, body, regency=REGENCY, correlation_id=correlation_id)
    return envelope, body["participant_id"]


def sample_envelope_json() -> str:
    """One envelope as the relay serialises it: the raw baseline's message body."""
    envelope, _ = build_event(1, "bench-sample")
    return json.dumps(envelope.to_dict(), separators=(",", ":"))


class Databases:
    def __init__(self, urls: dict[str, str]) -> None:
        self.urls = urls

    def connect(self, unit: str, autocommit: bool = True):
        conn = psycopg2.connect(self.urls[unit], application_name=f"bench-{unit}")
        conn.autocommit = autocommit
        return conn


def _scalar(conn, sql: str, args: tuple = ()) -> Any:
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchone()[0]


class Sampler(threading.Thread):
    """Every ``interval`` s: outbox backlog and the two consumer queues' depths (who is behind)."""

    def __init__(self, dbs: Databases, amqp_uri: str, interval: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.dbs, self.amqp_uri, self.interval = dbs, amqp_uri, interval
        self.samples: list[dict[str, float]] = []
        self._halt = threading.Event()

    def run(self) -> None:
        reg = self.dbs.connect("registration")
        started = time.monotonic()
        with Connection(self.amqp_uri) as conn:
            channel = conn.channel()
            while not self._halt.is_set():
                row = {"t": round(time.monotonic() - started, 2),
                       "outbox_pending": _scalar(reg, "SELECT count(*) FROM outbox WHERE published_at IS NULL")}
                for unit, name in QUEUES.items():
                    _, depth, _ = channel.queue_declare(queue=name, passive=True)
                    row[f"queue.{unit}"] = depth
                self.samples.append(row)
                self._halt.wait(self.interval)
        reg.close()

    def stop(self) -> dict[str, Any]:
        self._halt.set()
        self.join(10)
        peaks = {k: max((s[k] for s in self.samples), default=0) for k in
                 ("outbox_pending", *(f"queue.{u}" for u in QUEUES))}
        return {"peak": peaks, "series": self.samples}


TAP_QUEUE = "bench.tap.participant.registered"


def _tap_process(amqp_uri: str, ready: Any, stop: Any, out: Any) -> None:
    """A passive extra subscriber on registration's exchange: when each event left the broker
    towards consumers (its own non-durable queue, no ack), i.e. when the relay published it."""
    from kombu import Exchange, Queue

    from bimtek_shared.messaging.topology import events_exchange

    seen: dict[str, float] = {}
    exchange = events_exchange("registration")
    queue = Queue(TAP_QUEUE, exchange=Exchange(exchange.name, type="topic", durable=True, passive=True),
                  routing_key=EVENT_TYPE, durable=False, auto_delete=True, exclusive=True)

    def on_message(body: Any, message: Any) -> None:
        seen[message.properties.get("message_id")] = time.time()

    with Connection(amqp_uri) as conn:
        with conn.Consumer(queue, callbacks=[on_message], accept=["json"], no_ack=True):
            ready.set()
            while not stop.is_set():
                try:
                    conn.drain_events(timeout=0.2)
                except TimeoutError:
                    pass
    out.put(seen)


class Tap:
    def __init__(self, amqp_uri: str) -> None:
        import multiprocessing as mp

        ctx = mp.get_context("spawn")
        self._ready, self._stop, self._out = ctx.Event(), ctx.Event(), ctx.Queue()
        self._proc = ctx.Process(target=_tap_process, args=(amqp_uri, self._ready, self._stop, self._out))
        self._proc.start()
        if not self._ready.wait(60):
            raise RuntimeError("tap consumer did not start")

    def stop(self) -> dict[str, datetime]:
        self._stop.set()
        seen = self._out.get(timeout=60)
        self._proc.join(30)
        return {k: datetime.fromtimestamp(v, timezone.utc) for k, v in seen.items()}


def processed_count(conn, consumer: str) -> int:
    return _scalar(conn, "SELECT count(*) FROM processed_events WHERE consumer = %s", (consumer,))


def wait_until_idle(dbs: Databases, timeout: float = 120.0) -> None:
    """The outbox is drained and both consumers have handled all of it."""
    reg = dbs.connect("registration")
    conns = {unit: dbs.connect(unit) for unit in CONSUMERS}
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pending = _scalar(reg, "SELECT count(*) FROM outbox WHERE published_at IS NULL")
            published = _scalar(reg, "SELECT count(*) FROM outbox")
            handled = [processed_count(conns[u], c) for u, c in CONSUMERS.items()]
            if pending == 0 and all(h >= published for h in handled):
                return
            time.sleep(0.2)
        raise TimeoutError("pipeline did not go idle")
    finally:
        reg.close()
        for c in conns.values():
            c.close()


def _wait_for_counts(conns: dict[str, Any], targets: dict[str, int], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    remaining = dict(targets)
    while remaining:
        for unit in list(remaining):
            if processed_count(conns[unit], CONSUMERS[unit]) >= remaining[unit]:
                del remaining[unit]
        if remaining:
            if time.monotonic() > deadline:
                raise TimeoutError(f"consumers did not finish: {remaining}")
            time.sleep(0.1)


def _times(conn, sql: str, ids: list[str], *extra: Any) -> dict[str, datetime]:
    with conn.cursor() as cur:
        cur.execute(sql, (ids, *extra))
        return {str(event_id): ts for event_id, ts in cur.fetchall()}


def published_times(reg, ids: list[str]) -> dict[str, datetime]:
    return _times(reg, "SELECT event_id, published_at FROM outbox WHERE event_id = ANY(%s::uuid[])", ids)


def processed_times(conn, consumer: str, ids: list[str]) -> dict[str, datetime]:
    return _times(conn, "SELECT event_id, processed_at FROM processed_events "
                        "WHERE event_id = ANY(%s::uuid[]) AND consumer = %s", ids, consumer)


# -- throughput ------------------------------------------------------------------------------
def throughput_run(dbs: Databases, amqp_uri: str, n: int, meter=None, timeout: float = 600.0) -> dict[str, Any]:
    correlation_id = f"bench-throughput-{uuid.uuid4().hex[:8]}"
    events = [build_event(i, correlation_id) for i in range(n)]
    rows = [(str(env.event_id), env.type, agg, json.dumps(env.to_dict())) for env, agg in events]
    ids = [r[0] for r in rows]

    reg = dbs.connect("registration", autocommit=False)
    conns = {unit: dbs.connect(unit) for unit in CONSUMERS}
    before = {unit: processed_count(conns[unit], c) for unit, c in CONSUMERS.items()}
    sampler = Sampler(dbs, amqp_uri)
    sampler.start()
    if meter:
        meter.start()
    insert_started = time.perf_counter()
    with reg.cursor() as cur:
        psycopg2.extras.execute_values(cur, INSERT_SQL, rows, template="(%s, %s, %s, %s::jsonb)", page_size=2000)
    reg.commit()  # one transaction: the trigger's NOTIFY wakes the relay on this commit
    committed = datetime.now(timezone.utc)
    insert_s = time.perf_counter() - insert_started
    _wait_for_counts(conns, {u: before[u] + n for u in CONSUMERS}, timeout)
    cpu = meter.stop() if meter else {}
    queues = sampler.stop()

    reg.autocommit = True
    published = published_times(reg, ids)
    handled = {unit: processed_times(conns[unit], CONSUMERS[unit], ids) for unit in CONSUMERS}
    reg.close()
    for c in conns.values():
        c.close()
    if len(published) != n or any(len(h) != n for h in handled.values()):
        raise RuntimeError("some events are missing from the outbox or an inbox")

    last_published = max(published.values())
    first_published = min(published.values())
    result: dict[str, Any] = {
        "n": n,
        "insert_s": round(insert_s, 3),
        "relay_first_batch_s": round((first_published - committed).total_seconds(), 3),
        "relay_publish_per_s": round(n / (last_published - committed).total_seconds(), 1),
    }
    last_overall = committed
    for unit, times in handled.items():
        last = max(times.values())
        last_overall = max(last_overall, last)
        result[f"{unit}_per_s"] = round(n / (last - committed).total_seconds(), 1)
    seconds = (last_overall - committed).total_seconds()
    result["end_to_end_s"] = round(seconds, 3)
    result["end_to_end_per_s"] = round(n / seconds, 1)
    result["peaks"] = queues["peak"]
    result["series"] = queues["series"]
    result["cpu"] = cpu
    return result


# -- latency at a steady rate ----------------------------------------------------------------
def latency_run(dbs: Databases, stack, rate: float, duration: float, meter=None, writers: int = 4) -> dict[str, Any]:
    """Events at ``rate``/s, one per transaction, from ``writers`` connections (as concurrent requests
    would be): event i is due at i/rate and written by writer i % writers, so one slow commit does
    not hold back the schedule."""
    n = int(rate * duration)
    correlation_id = f"bench-latency-{uuid.uuid4().hex[:8]}"
    conns = {unit: dbs.connect(unit) for unit in CONSUMERS}
    before = {unit: processed_count(conns[unit], c) for unit, c in CONSUMERS.items()}
    scrape_before = {unit: metrics_text(stack, unit) for unit in CONSUMERS}
    tap = Tap(stack.amqp_uri)
    occurred: dict[str, datetime] = {}
    behind: list[float] = []
    writer_conns = [dbs.connect("registration", autocommit=False) for _ in range(writers)]

    def writer(k: int, started: float) -> None:
        conn = writer_conns[k]
        worst = 0.0
        with conn.cursor() as cur:
            for i in range(k, n, writers):
                due = started + i / rate
                now = time.perf_counter()
                if due > now:
                    time.sleep(due - now)
                else:
                    worst = max(worst, now - due)
                # What a use case does: the envelope is built (occurred_at = now), then its
                # transaction inserts the row and commits.
                envelope, aggregate = build_event(i, correlation_id)
                cur.execute(INSERT_ONE_SQL, (str(envelope.event_id), envelope.type, aggregate,
                                             json.dumps(envelope.to_dict())))
                conn.commit()
                occurred[str(envelope.event_id)] = envelope.occurred_at
        behind.append(worst)

    if meter:
        meter.start()
    started = time.perf_counter() + 0.05
    threads = [threading.Thread(target=writer, args=(k, started)) for k in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sent_s = time.perf_counter() - started
    worst_behind = max(behind, default=0.0)
    for c in writer_conns:
        c.close()
    _wait_for_counts(conns, {u: before[u] + n for u in CONSUMERS}, timeout=300)
    cpu = meter.stop() if meter else {}
    scrape_after = {unit: metrics_text(stack, unit) for unit in CONSUMERS}
    delivered = tap.stop()

    ids = list(occurred)
    reg = dbs.connect("registration")
    published = published_times(reg, ids)
    handled = {unit: processed_times(conns[unit], CONSUMERS[unit], ids) for unit in CONSUMERS}
    reg.close()
    for c in conns.values():
        c.close()

    def lat(times: dict[str, datetime]) -> list[float]:
        return [(times[e] - occurred[e]).total_seconds() for e in ids]

    both = [max((handled[u][e] - occurred[e]).total_seconds() for u in CONSUMERS) for e in ids]
    tapped = [e for e in ids if e in delivered]
    result: dict[str, Any] = {
        "rate": rate,
        "n": n,
        "achieved_rate": round(n / sent_s, 1),
        "worst_behind_schedule_ms": round(worst_behind * 1000, 1),
        # occurred_at -> the broker delivered it to a passive extra subscriber (the tap): commit,
        # relay wake-up, fetch and publish
        "published_ms": summarise_ms([(delivered[e] - occurred[e]).total_seconds() for e in tapped]),
        # tap delivery -> the later consumer's processed_at: consumer queueing and batch wait
        "consumers_after_publish_ms": summarise_ms(
            [max((handled[u][e] - delivered[e]).total_seconds() for u in CONSUMERS) for e in tapped]),
        "relay_confirmed_ms": summarise_ms(lat(published)),
        "all_consumers_ms": summarise_ms(both),
        "tapped": len(tapped),
        "cpu": cpu,
    }
    for unit in CONSUMERS:
        result[f"{unit}_ms"] = summarise_ms(lat(handled[unit]))
        labels = {"service": unit, "event_type": EVENT_TYPE}
        for metric, key in (("bimtek_event_end_to_end_seconds", "service_histogram"),
                            ("bimtek_event_handle_duration_seconds", "handle_histogram")):
            h0 = histogram(scrape_before[unit], metric, labels)
            h1 = histogram(scrape_after[unit], metric, labels)
            result[f"{unit}_{key}"] = {
                # None: beyond the last finite bucket (10 s) or nothing observed
                f"p{int(q * 100)}_le_ms": (None if (v := histogram_quantile(h0, h1, q)) in (None, float("inf"))
                                           else round(v * 1000, 1))
                for q in (0.5, 0.99)
            }
    return result
