"""``@event_consumer``: nameko's message consumer with at-least-once handling that loses nothing.

What plain ``nameko.events.event_handler`` does not do, and this does:
- consumes the queue the catalogue names for (event type, service, method), declared durably with
  its retry and dead-letter queues, and refuses a handler the catalogue does not list;
- validates the envelope and payload before any handler code runs; an invalid message can never
  succeed, so it is parked in the dead-letter queue at once;
- on a handler failure, republishes the message (with publisher confirms) to the next delay queue,
  and after the last delay to the dead-letter queue, and only then acks it: a poison message never
  blocks the queue and is never dropped; the try count travels in a header of our own
  (``x-bimtek-attempt``), not RabbitMQ's ``x-death``;
- carries the event's correlation id into the worker context, so events a handler causes keep it.

Handlers stay idempotent by claiming the event in their unit of work (``uow.claim``).
"""
from __future__ import annotations

import json
import logging
import time
import traceback
from datetime import datetime, timezone
from functools import partial

from kombu import Connection
from nameko.amqp.publish import Publisher
from nameko.exceptions import ContainerBeingKilled
from nameko.messaging import Consumer

from ..contracts.catalogue import CATALOGUE
from ..contracts.envelope import EventEnvelope, parse_event
from ..contracts.errors import ContractViolation, DomainError
from ..messaging.topology import (
    ATTEMPT_HEADER,
    DEFAULT_RETRY_DELAYS_MS,
    ERROR_HEADER,
    FAILED_AT_HEADER,
    ConsumerQueues,
    consumer_queues,
)
from ..observability import metrics

log = logging.getLogger(__name__)


class EventConsumer(Consumer):
    def __init__(self, event_type: str, **kwargs) -> None:
        self.event_type = event_type
        self.queues: ConsumerQueues | None = None
        self._publisher: Publisher | None = None
        super().__init__(queue=None, **kwargs)

    @property
    def retry_delays_ms(self) -> tuple[int, ...]:
        configured = self.container.config.get("RETRY_DELAYS_MS") or DEFAULT_RETRY_DELAYS_MS
        return tuple(int(d) for d in configured)

    def setup(self) -> None:
        service = self.container.service_name
        producer, subscription = CATALOGUE.subscription_of(self.event_type, service, self.method_name)
        self.queues = consumer_queues(producer, self.event_type, subscription, self.retry_delays_ms)
        self.queue = self.queues.main
        amqp_uri = self.container.config["AMQP_URI"]
        with Connection(amqp_uri) as conn:
            channel = conn.default_channel
            for queue in (self.queues.main, *self.queues.retries, self.queues.dead):
                queue(channel).declare()
        # Confirms + mandatory: a retry or dead letter counts as parked only once the broker has it.
        self._publisher = Publisher(amqp_uri, use_confirms=True, mandatory=True)
        super().setup()

    # -- receiving --------------------------------------------------------------------------
    def handle_message(self, body, message) -> None:
        started = time.perf_counter()
        try:
            envelope = parse_event(body)
        except ContractViolation as exc:
            # Will never succeed: no point in retrying; park it for a person to look at.
            log.error("invalid %s message on %s parked: %s", self.event_type, self.queue.name, exc)
            self._park(message, body, attempt=self._attempt_of(message), reason=f"ContractViolation: {exc}")
            return

        context_data = self.unpack_message_headers(message)
        context_data["correlation_id"] = envelope.correlation_id
        handle_result = partial(self._handle_result, message, body, envelope, started)
        try:
            self.container.spawn_worker(
                self, (envelope,), {}, context_data=context_data, handle_result=handle_result
            )
        except ContainerBeingKilled:
            self.queue_consumer.requeue_message(message)

    def _handle_result(self, message, body, envelope: EventEnvelope, started, worker_ctx, result=None, exc_info=None):
        service = self.container.service_name
        metrics.EVENT_HANDLE_SECONDS.labels(service, envelope.type).observe(time.perf_counter() - started)
        if exc_info is None:
            outcome = "duplicate" if result is False else "ok"
            metrics.EVENTS_HANDLED.labels(service, envelope.type, outcome).inc()
            if outcome == "ok":
                lag = (datetime.now(timezone.utc) - envelope.occurred_at).total_seconds()
                metrics.EVENT_END_TO_END_SECONDS.labels(service, envelope.type).observe(max(lag, 0.0))
            self.queue_consumer.ack_message(message)
            return result, exc_info

        exc = exc_info[1]
        reason = f"{type(exc).__name__}: {exc}"[:500]
        attempt = self._attempt_of(message) + 1
        if attempt <= len(self.retry_delays_ms) and not isinstance(exc, ContractViolation):
            delay_queue = self.queues.retries[attempt - 1]
            log.warning("%s %s failed (try %d, %s); retrying in %d ms",
                        self.method_name, envelope.event_id, attempt, type(exc).__name__,
                        self.retry_delays_ms[attempt - 1])
            if self._republish(message, body, delay_queue.name, attempt, reason):
                metrics.EVENTS_HANDLED.labels(service, envelope.type, "retried").inc()
        else:
            log.error("%s %s failed %d times; parked in %s\n%s", self.method_name, envelope.event_id,
                      attempt, self.queues.dead.name, "".join(traceback.format_exception(*exc_info))[-2000:]
                      if not isinstance(exc, DomainError) else type(exc).__name__)
            self._park(message, body, attempt, reason)
        return result, exc_info

    # -- retries and dead letters -----------------------------------------------------------
    @staticmethod
    def _attempt_of(message) -> int:
        try:
            return int((message.headers or {}).get(ATTEMPT_HEADER, 0))
        except (TypeError, ValueError):
            return 0

    def _park(self, message, body, attempt: int, reason: str) -> None:
        if self._republish(message, body, self.queues.dead.name, attempt, reason):
            metrics.EVENTS_HANDLED.labels(self.container.service_name, self.event_type, "dead_lettered").inc()

    def _republish(self, message, body, queue_name: str, attempt: int, reason: str) -> bool:
        """Move the message to ``queue_name``; ack the original only once the broker confirmed."""
        headers = dict(message.headers or {})
        headers.update({ATTEMPT_HEADER: attempt, ERROR_HEADER: reason,
                        FAILED_AT_HEADER: datetime.now(timezone.utc).isoformat()})
        raw = body if isinstance(body, str) else json.dumps(body)
        try:
            self._publisher.publish(
                raw,
                exchange="",  # the default exchange routes straight to the queue by name
                routing_key=queue_name,
                headers=headers,
                serializer=None,
                content_type="application/json",
                content_encoding="utf-8",
                message_id=message.properties.get("message_id"),
                correlation_id=message.properties.get("correlation_id"),
                retry=True,
            )
        except Exception as exc:  # noqa: BLE001
            # Could not park it: hand it back to the broker rather than lose it.
            log.error("could not move a message to %s (%s); requeued", queue_name, type(exc).__name__)
            self.queue_consumer.requeue_message(message)
            return False
        self.queue_consumer.ack_message(message)
        return True


event_consumer = EventConsumer.decorator
