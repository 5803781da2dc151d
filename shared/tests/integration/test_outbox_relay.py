"""The outbox relay against the real PostgreSQL and RabbitMQ (names unique to each test run)."""
import threading
import time
import uuid

import pytest
from kombu import Connection, Exchange, Queue
from sqlalchemy import MetaData, create_engine, insert, select, text

from bimtek_shared.messaging.relay import OutboxRelay, RelaySettings
from bimtek_shared.observability import metrics
from bimtek_shared.persistence.database import create_database_if_missing, drop_database_if_exists
from bimtek_shared.persistence.messaging_tables import CREATE_NOTIFY_TRIGGER, define_messaging_tables

pytestmark = pytest.mark.integration

AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/"
FAST = RelaySettings(batch_size=50, idle_poll=0.2, standby_poll=0.2, retry_base=0.2, retry_cap=0.5)


@pytest.fixture
def outbox_db():
    url = f"postgresql://postgres@127.0.0.1:5432/bimtek_test_relay_{uuid.uuid4().hex[:8]}"
    create_database_if_missing(url)
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg2://"))
    metadata = MetaData()
    tables = define_messaging_tables(metadata)
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(text(CREATE_NOTIFY_TRIGGER))
    yield engine, tables
    engine.dispose()
    drop_database_if_exists(url)


@pytest.fixture
def broker():
    producer = f"relaytest{uuid.uuid4().hex[:8]}"
    exchange = Exchange(f"{producer}.events", type="topic", durable=True)
    queue = Queue(f"{producer}-listener", exchange=exchange, routing_key="thing.happened", durable=True)
    with Connection(AMQP_URI) as conn:
        queue(conn.default_channel).declare()
        yield producer, conn, queue
        queue(conn.default_channel).delete()
        exchange(conn.default_channel).delete()


def add_events(engine, tables, rows):
    """rows: (event_type, aggregate_id) pairs; returns their event ids in insertion order."""
    ids = []
    with engine.begin() as conn:
        for event_type, aggregate in rows:
            event_id = uuid.uuid4()
            ids.append(str(event_id))
            conn.execute(insert(tables.outbox).values(
                event_id=event_id, event_type=event_type, aggregate_id=aggregate,
                envelope={"event_id": str(event_id), "type": event_type, "correlation_id": "test"}))
    return ids


def drain(conn, queue, expected, timeout=10.0):
    got = []
    deadline = time.monotonic() + timeout
    channel = conn.channel()
    while len(got) < expected and time.monotonic() < deadline:
        message = channel.basic_get(queue.name, no_ack=True)
        if message is None:
            time.sleep(0.05)
            continue
        got.append(message.properties["message_id"])
    channel.close()
    return got


class RunningRelay:
    def __init__(self, relay):
        self.relay, self.stop = relay, False
        self.thread = threading.Thread(target=relay.run, args=(lambda: self.stop,), daemon=True)
        self.thread.start()

    def close(self):
        self.stop = True
        self.thread.join(timeout=5)


def test_publishes_in_commit_order_and_stamps_what_the_broker_confirmed(outbox_db, broker):
    engine, tables = outbox_db
    producer, conn, queue = broker
    ids = add_events(engine, tables, [("thing.happened", f"agg-{i % 3}") for i in range(120)])
    running = RunningRelay(OutboxRelay(producer, engine, tables, AMQP_URI, FAST))
    try:
        assert drain(conn, queue, 120) == ids
        # Events committed while it runs are picked up promptly (LISTEN/NOTIFY wakes it).
        later = add_events(engine, tables, [("thing.happened", "agg-x")])
        assert drain(conn, queue, 1) == later
    finally:
        running.close()
    with engine.connect() as c:
        assert c.execute(select(tables.outbox.c.id).where(tables.outbox.c.published_at.is_(None))).all() == []


def test_an_unroutable_event_waits_and_holds_back_its_aggregate_only(outbox_db, broker):
    engine, tables = outbox_db
    producer, conn, queue = broker
    # agg-a's first event has no queue bound (the broker returns it); agg-a's second must wait
    # behind it, while agg-b flows on.
    add_events(engine, tables, [("thing.vanished", "agg-a"), ("thing.happened", "agg-a")])
    [b_event] = add_events(engine, tables, [("thing.happened", "agg-b")])
    running = RunningRelay(OutboxRelay(producer, engine, tables, AMQP_URI, FAST))
    try:
        assert drain(conn, queue, 2, timeout=3) == [b_event]
    finally:
        running.close()
    with engine.connect() as c:
        pending = c.execute(
            select(tables.outbox.c.event_type, tables.outbox.c.attempts, tables.outbox.c.last_error)
            .where(tables.outbox.c.published_at.is_(None)).order_by(tables.outbox.c.id)
        ).all()
    assert [row.event_type for row in pending] == ["thing.vanished", "thing.happened"]
    assert pending[0].attempts >= 1 and pending[0].last_error == "returned"
    assert pending[1].attempts == 0


def test_one_relay_publishes_at_a_time_and_a_standby_takes_over(outbox_db, broker):
    engine, tables = outbox_db
    producer, conn, queue = broker
    first = RunningRelay(OutboxRelay(producer, engine, tables, AMQP_URI, FAST))
    time.sleep(0.5)
    second = RunningRelay(OutboxRelay(producer, engine, tables, AMQP_URI, FAST))
    try:
        time.sleep(0.5)
        assert first.relay.is_leader and not second.relay.is_leader
        ids = add_events(engine, tables, [("thing.happened", "agg") for _ in range(10)])
        assert drain(conn, queue, 10) == ids
        first.close()
        deadline = time.monotonic() + 5
        while not second.relay.is_leader and time.monotonic() < deadline:
            time.sleep(0.05)
        assert second.relay.is_leader
        more = add_events(engine, tables, [("thing.happened", "agg") for _ in range(5)])
        assert drain(conn, queue, 5) == more
    finally:
        first.close()
        second.close()


def test_the_backlog_gauges_stay_current_while_the_broker_is_unreachable(outbox_db):
    # The relay cannot publish (nothing listens on port 1), so it never gets past its first batch;
    # its gauges must still show the backlog growing older, or the outbox alerts would never fire.
    engine, tables = outbox_db
    producer = f"relaytest{uuid.uuid4().hex[:8]}"
    add_events(engine, tables, [("thing.happened", f"agg-{i}") for i in range(3)])
    with engine.begin() as conn:
        conn.execute(text("UPDATE outbox SET created_at = now() - interval '10 minutes'"))
    settings = RelaySettings(standby_poll=0.1, gauge_interval=0.1)
    running = RunningRelay(OutboxRelay(producer, engine, tables, "amqp://guest:guest@127.0.0.1:1/", settings))
    try:
        deadline = time.monotonic() + 5
        while metrics.OUTBOX_BACKLOG.labels(producer)._value.get() != 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert metrics.OUTBOX_BACKLOG.labels(producer)._value.get() == 3
        assert 600 <= metrics.OUTBOX_OLDEST_AGE.labels(producer)._value.get() < 660
    finally:
        running.close()


def test_events_waiting_behind_their_aggregate_go_out_at_once_and_a_retry_wait_does_not_spin(outbox_db, broker):
    engine, tables = outbox_db
    producer, conn, queue = broker
    # A long idle wait: were the relay to wait between batches, ten events of one aggregate (one
    # per batch) would take ten of them.
    slow_idle = RelaySettings(batch_size=50, idle_poll=5.0, standby_poll=0.2, retry_base=30, retry_cap=30)
    relay = OutboxRelay(producer, engine, tables, AMQP_URI, slow_idle)
    batches = []
    publish_pending = relay.publish_pending
    relay.publish_pending = lambda: batches.append(1) or publish_pending()
    running = RunningRelay(relay)
    try:
        deadline = time.monotonic() + 10
        while not relay.is_leader and time.monotonic() < deadline:  # listening: no wake-up is missed
            time.sleep(0.05)
        started = time.monotonic()
        ids = add_events(engine, tables, [("thing.happened", "agg-1")] * 10)
        assert drain(conn, queue, 10, timeout=4) == ids
        assert time.monotonic() - started < 4

        # An unroutable event waits 30 s for its retry, its aggregate's next one behind it: the
        # relay then waits too, instead of reading the same two rows again and again.
        add_events(engine, tables, [("thing.vanished", "agg-2"), ("thing.happened", "agg-2")])
        time.sleep(0.5)
        before = len(batches)
        time.sleep(1.0)
        assert len(batches) - before <= 1
    finally:
        running.close()
