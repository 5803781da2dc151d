"""Running ``poison_service.DrillConsumer`` as a real process, and talking to it, for the tests.

``start_drill`` gives it a database of its own (just the inbox/outbox tables) on a given
PostgreSQL server and connects it to a given RabbitMQ; the test publishes ``drill.pinged``
envelopes to the ``drill.events`` exchange as any producer's outbox relay would. While it runs,
``drill.pinged`` is in this process's catalogue too (``drill_contract.catalogued``).
"""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg2
from kombu import Connection, Producer
from sqlalchemy import MetaData, create_engine

from bimtek_shared.contracts.envelope import new_event
from bimtek_shared.messaging.topology import (
    consumer_queue_name,
    dead_letter_queue_name,
    events_exchange,
    retry_queue_name,
)
from bimtek_shared.persistence.database import create_database_if_missing, sync_url
from bimtek_shared.persistence.messaging_tables import define_messaging_tables
from tests.integration.drill_contract import catalogued
from tests.integration.harness import RETRY_DELAYS_MS, metric_value, wait_until
from tests.support.servers import free_port

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
QUEUE = consumer_queue_name("drill", "drill.pinged", "drill_consumer", "handle_pinged")
DEAD = dead_letter_queue_name(QUEUE)
CONSUMER = "drill_consumer.handle_pinged"


@dataclass
class Drill:
    amqp_uri: str
    database_url: str
    ops_port: int
    marker: Path
    attempt_log: Path
    log: Path
    env: dict[str, str]
    process: subprocess.Popen | None = None

    # -- the process ------------------------------------------------------------------------
    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def ready(self) -> bool:
        if not self.alive:
            raise RuntimeError(f"drill consumer exited:\n{self.log_tail()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.ops_port}/readyz", timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return "(no log)"

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", "from bimtek_shared.service_main import main; "
                                       "main('poison_service:DrillConsumer', 'poison_service:DrillSettings')"],
                env=self.env, cwd=self.log.parent, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )
        wait_until(self.ready, timeout=60, interval=0.2, message=self.log_tail)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    # -- its state --------------------------------------------------------------------------
    def processed(self) -> int:
        conn = psycopg2.connect(self.database_url)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT count(*) FROM processed_events WHERE consumer = %s", (CONSUMER,))
                return int(cur.fetchone()[0])
        finally:
            conn.close()

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.ops_port}/metrics", timeout=5) as response:
            return response.read().decode()

    def handled(self, outcome: str) -> float:
        return metric_value(self.metrics(), "bimtek_events_handled_total", service="drill_consumer",
                            event_type="drill.pinged", outcome=outcome)

    def failed_tries(self) -> list[tuple[int, int]]:
        """(n, size of the batch) of every failed handler call, per poison event in it."""
        try:
            lines = self.attempt_log.read_text().splitlines()
        except FileNotFoundError:
            return []
        return [(int(n), int(size)) for n, size in (line.split() for line in lines)]

    def slow_started(self) -> int:
        try:
            return len(Path(str(self.attempt_log) + ".slow").read_text().split())
        except FileNotFoundError:
            return 0

    # -- the broker -------------------------------------------------------------------------
    def depth(self, queue: str) -> int:
        with Connection(self.amqp_uri) as conn:
            channel = conn.channel()
            try:
                return int(channel.queue_declare(queue, passive=True)[1])
            finally:
                channel.close()

    def purge(self, queue: str) -> None:
        with Connection(self.amqp_uri) as conn:
            channel = conn.channel()
            try:
                channel.queue_purge(queue)
            finally:
                channel.close()

    def publish(self, bodies: list[tuple[str, str]]) -> None:
        """Publish (message_id, JSON body) pairs with publisher confirms, as the outbox relay does."""
        with Connection(self.amqp_uri, transport_options={"confirm_publish": True}) as conn:
            producer = Producer(conn.channel(), exchange=events_exchange("drill"))
            for message_id, body in bodies:
                producer.publish(body, routing_key="drill.pinged", serializer=None,
                                 content_type="application/json", content_encoding="utf-8",
                                 delivery_mode=2, message_id=message_id, retry=True)

    def ops_cli(self, *args: str) -> str:
        """``bimtek-ops`` in a process of its own that knows drill.pinged (the CLI reads the catalogue)."""
        result = subprocess.run(
            [sys.executable, "-c",
             "import sys, drill_contract; drill_contract.register(); "
             "from bimtek_shared.ops.cli import main; sys.exit(main())",
             "--amqp-uri", self.amqp_uri, *args],
            env=self.env, capture_output=True, text=True, timeout=60, cwd=REPO,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout


def purge_drill_queues(amqp_uri: str) -> None:
    """Empty the drill consumer's queue, its delay queues and its dead-letter queue."""
    with Connection(amqp_uri) as conn:
        for queue in (QUEUE, DEAD, *(retry_queue_name(QUEUE, d) for d in RETRY_DELAYS_MS)):
            channel = conn.channel()
            try:
                channel.queue_purge(queue)
            except Exception:  # noqa: BLE001 - not declared (yet): nothing in it
                pass
            finally:
                if channel.is_open:
                    channel.close()


def ping(n: int, fail: bool, hold_ms: int = 0) -> tuple[str, str]:
    """(message id, body) of a valid drill.pinged envelope."""
    envelope = new_event("drill.pinged", {"n": n, "fail": fail, "hold_ms": hold_ms}, regency="35.17",
                         correlation_id=f"drill-{n}")
    return str(envelope.event_id), envelope.to_json()


@contextlib.contextmanager
def start_drill(amqp_uri: str, postgres_url: str, database: str, workdir: Path) -> Iterator[Drill]:
    database_url = f"{postgres_url.rstrip('/')}/{database}"
    create_database_if_missing(database_url)
    engine = create_engine(sync_url(database_url))
    metadata = MetaData()
    define_messaging_tables(metadata)
    metadata.create_all(engine)
    engine.dispose()

    ops_port = free_port()
    marker = workdir / "poison.marker"
    marker.touch()
    attempt_log = workdir / "attempts.log"
    env = {
        **os.environ,
        "AMQP_URI": amqp_uri,
        "DATABASE_URL": database_url,
        "OPS_HTTP_PORT": str(ops_port),
        "RETRY_DELAYS_MS": json.dumps(RETRY_DELAYS_MS),
        "PYTHONPATH": os.pathsep.join([str(HERE), str(REPO), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        "PYTHONUNBUFFERED": "1",
        "DRILL_FAIL_MARKER": str(marker),
        "DRILL_ATTEMPT_LOG": str(attempt_log),
    }
    drill = Drill(amqp_uri, database_url, ops_port, marker, attempt_log, workdir / "drill_consumer.log", env)
    purge_drill_queues(amqp_uri)  # whatever an earlier test left behind
    with catalogued():  # new_event() and the dead-letter tools of this process need to know it
        drill.start()
        try:
            yield drill
        finally:
            drill.stop()
