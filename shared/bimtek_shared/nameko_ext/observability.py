"""Health, readiness and metrics for a nameko service, served beside (not through) its workers.

nameko's own HTTP entrypoint would run ``/healthz`` in the worker pool, so a saturated service
would look dead. This server runs in its own greenthread and stays responsive while workers are busy.
"""
from __future__ import annotations

import logging
import time
import weakref

import eventlet
import eventlet.wsgi
from kombu import Connection
from nameko.extensions import DependencyProvider
from nameko.rpc import Rpc
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import create_engine, text

from ..contracts.catalogue import CATALOGUE
from ..contracts.errors import DomainError
from ..messaging.topology import DEFAULT_RETRY_DELAYS_MS, consumer_queues
from ..observability import metrics
from ..persistence.database import sync_url

log = logging.getLogger(__name__)

QUEUE_GAUGE_MAX_AGE = 5.0  # seconds; a scrape refreshes queue depths at most this often


class Observability(DependencyProvider):
    """Serves ``/healthz`` (alive), ``/readyz`` (database and broker reachable) and ``/metrics``,
    and counts and times every RPC call the service handles (outcomes: ok, domain_error, error).

    Declared once on each service class; workers get nothing from it.
    """

    def setup(self) -> None:
        self._started: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        config = self.container.config
        self.host = config.get("OPS_HTTP_HOST", "127.0.0.1")
        self.port = int(config.get("OPS_HTTP_PORT", 0))
        self.amqp_uri = config["AMQP_URI"]
        # A connection of its own, so readiness is answered even when every worker holds one.
        self.engine = create_engine(sync_url(config["DATABASE_URL"]), pool_size=1, max_overflow=0,
                                    pool_pre_ping=True)
        self._queues_checked_at = 0.0
        self._socket = None

    def start(self) -> None:
        self._socket = eventlet.listen((self.host, self.port))
        self.port = self._socket.getsockname()[1]
        self.container.spawn_managed_thread(self._serve, identifier="ops_http_server")
        log.info("%s ops endpoints on http://%s:%d", self.container.service_name, self.host, self.port)

    def get_dependency(self, worker_ctx) -> None:
        return None

    def stop(self) -> None:
        if self._socket is not None:
            self._socket.close()
        self.engine.dispose()

    def _serve(self) -> None:
        eventlet.wsgi.server(self._socket, self._app, log_output=False, socket_timeout=10)

    # -- WSGI -----------------------------------------------------------------------------------
    def _app(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            return self._reply(start_response, "200 OK", b'{"status":"ok"}')
        if path == "/readyz":
            problems = self.readiness_problems()
            if problems:
                body = ('{"status":"unavailable","failing":["' + '","'.join(problems) + '"]}').encode()
                return self._reply(start_response, "503 Service Unavailable", body)
            return self._reply(start_response, "200 OK", b'{"status":"ready"}')
        if path == "/metrics":
            self._refresh_queue_gauges()
            return self._reply(start_response, "200 OK", generate_latest(), CONTENT_TYPE_LATEST)
        return self._reply(start_response, "404 Not Found", b'{"status":"not found"}')

    @staticmethod
    def _reply(start_response, status, body: bytes, content_type="application/json"):
        start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
        return [body]

    def readiness_problems(self) -> list[str]:
        problems = []
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:  # noqa: BLE001
            problems.append("database")
        try:
            with Connection(self.amqp_uri, connect_timeout=2) as conn:
                conn.ensure_connection(max_retries=1)
        except Exception:  # noqa: BLE001
            problems.append("broker")
        return problems

    def _refresh_queue_gauges(self) -> None:
        now = time.monotonic()
        if now - self._queues_checked_at < QUEUE_GAUGE_MAX_AGE:
            return
        self._queues_checked_at = now
        service = self.container.service_name
        delays = tuple(self.container.config.get("RETRY_DELAYS_MS") or DEFAULT_RETRY_DELAYS_MS)
        try:
            with Connection(self.amqp_uri, connect_timeout=2) as conn:
                for producer, event_type, sub in CATALOGUE.subscriptions():
                    if sub.service != service:
                        continue
                    queues = consumer_queues(producer, event_type, sub, delays)
                    channel = conn.channel()
                    try:
                        _, depth, _ = queues.main(channel).queue_declare(passive=True)
                        metrics.CONSUMER_QUEUE_MESSAGES.labels(service, event_type, queues.name).set(depth)
                        _, dead, _ = queues.dead(channel).queue_declare(passive=True)
                        metrics.DEAD_LETTER_MESSAGES.labels(service, event_type, queues.dead.name).set(dead)
                    finally:
                        channel.close()
        except Exception as exc:  # noqa: BLE001 - metrics must still be served
            log.warning("could not read queue depths: %s", type(exc).__name__)

    # -- RPC metrics ------------------------------------------------------------------------
    def worker_setup(self, worker_ctx) -> None:
        self._started[worker_ctx] = time.perf_counter()

    def worker_result(self, worker_ctx, result=None, exc_info=None) -> None:
        started = self._started.pop(worker_ctx, None)
        elapsed = time.perf_counter() - started if started is not None else 0.0
        entrypoint = worker_ctx.entrypoint
        if exc_info is None:
            outcome = "ok"
        elif isinstance(exc_info[1], DomainError):
            outcome = "domain_error"
        else:
            outcome = "error"
        # One line per call or event, with the correlation id: a request can be followed through
        # every service's log. Ids and codes only, never arguments (they hold personal data).
        # DomainError's str() is its code; other exceptions show their type only.
        detail = "" if exc_info is None else f" ({exc_info[1] if outcome == 'domain_error' else type(exc_info[1]).__name__})"
        log.info("%s %s%s in %.1f ms [correlation_id=%s]", entrypoint.method_name, outcome, detail,
                 elapsed * 1000, worker_ctx.data.get("correlation_id", "-"))
        if not isinstance(entrypoint, Rpc):
            return
        service = self.container.service_name
        metrics.RPC_HANDLE_SECONDS.labels(service, entrypoint.method_name).observe(elapsed)
        metrics.RPC_HANDLED.labels(service, entrypoint.method_name, outcome).inc()
