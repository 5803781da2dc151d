"""``@event_consumer``: nameko's message consumer with at-least-once handling that loses nothing,
handling events in batches.

What plain ``nameko.events.event_handler`` does not do, and this does:
- consumes the queue the catalogue names for (event type, service, method), declared durably with
  its retry and dead-letter queues, and refuses a handler the catalogue does not list;
- validates the envelope and payload before any handler code runs; an invalid message can never
  succeed, so it is parked in the dead-letter queue at once;
- hands the handler a *list* of events: up to ``batch_size`` messages that arrived within
  ``batch_wait_ms`` of the first, so one transaction (and one inbox insert) serves many events.
  A burst is absorbed at the cost of a few milliseconds when traffic is light;
- acks the messages only after the handler returned, a finished run of them with one frame;
- if a batch fails, runs each of its events alone, so one poison message cannot hold its
  neighbours back, and a retried message is always handled alone; a single event that fails is
  republished (with publisher confirms) to the next
  delay queue, after the last delay to the dead-letter queue, and only then acked. The try count
  travels in a header of our own (``x-bimtek-attempt``), not RabbitMQ's ``x-death``;
- carries the event's correlation id into the worker context (for a batch, the first one's), so
  events a handler causes keep it.

Handlers stay idempotent with ``bimtek_shared.persistence.unit_of_work.apply_once`` and return the
number of events that took effect (the rest were duplicates).
"""
from __future__ import annotations

import json
import logging
import time
import traceback
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from typing import Any

import eventlet
from amqp.exceptions import ConnectionError as AmqpConnectionError
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
from .ack_window import AckWindow
from .rpc import ResilientQueueConsumer

log = logging.getLogger(__name__)

DEFAULT_EVENT_PREFETCH = 200
# How long a finished delivery may wait behind an unfinished one before it is acked on its own.
STRAGGLER_ACK_DELAY_S = 0.05


class EventQueueConsumer(ResilientQueueConsumer):
    """The connection event consumers share: a prefetch large enough to fill batches, apart from
    the RPC consumer's (whose prefetch stays at the worker count); and acks that settle a finished
    run of deliveries with one ``basic.ack(multiple=True)`` instead of one frame per message (a
    tenth of the broker's CPU per event in ``bench/``). See ``ack_window`` for when that is safe."""

    _window: AckWindow | None = None
    _window_channel: Any = None
    _straggler_timer: Any = None

    @property
    def prefetch_count(self) -> int:
        return int(self.container.config.get("EVENT_PREFETCH") or DEFAULT_EVENT_PREFETCH)

    def handle_message(self, provider, body, message) -> None:
        # Runs on the consumer thread in delivery order, before any worker sees the message.
        self._window_for(message.channel).received(message.delivery_tag)
        super().handle_message(provider, body, message)

    def _window_for(self, channel) -> AckWindow:
        if self._window is None or self._window_channel is not channel:
            # First message, or a reconnect: tags start again at 1 on the new channel, and the old
            # channel's unacked deliveries went back to the broker with it.
            self._window, self._window_channel = AckWindow(), channel
        return self._window

    def ack_message(self, message) -> None:
        self.ack_messages([message])

    def ack_messages(self, messages: list) -> None:
        current = []
        for message in messages:
            if self._window is not None and message.channel is self._window_channel:
                current.append(message.delivery_tag)
            else:
                super().ack_message(message)  # from a channel since closed: nameko's own guard
        if current:
            self._settle(self._window.finish(current))

    def requeue_message(self, message) -> None:
        if self._window is not None and message.channel is self._window_channel:
            self._window.forget(message.delivery_tag)
            super().requeue_message(message)
            self._settle(self._window.finish(()))
        else:
            super().requeue_message(message)

    def _settle(self, upto: int | None) -> None:
        if upto is not None:
            self._basic_ack(upto, multiple=True)
        if self._window.has_stragglers() and self._straggler_timer is None:
            self._straggler_timer = eventlet.spawn_after(STRAGGLER_ACK_DELAY_S, self._ack_stragglers)

    def _ack_stragglers(self) -> None:
        self._straggler_timer = None
        if self._window is not None:
            for tag in self._window.take_stragglers():
                self._basic_ack(tag, multiple=False)

    def _basic_ack(self, tag: int, *, multiple: bool) -> None:
        channel = self._window_channel
        if not channel.connection:
            return  # the broker took the deliveries back with the connection; they come again
        try:
            channel.basic_ack(tag, multiple=multiple)
        except (OSError, AmqpConnectionError) as exc:
            log.warning("ack lost with the broker connection (%s); the messages will be redelivered",
                        type(exc).__name__)


@dataclass
class Delivery:
    envelope: EventEnvelope
    message: Any  # kombu Message
    body: Any
    received: float


class EventConsumer(Consumer):
    queue_consumer = EventQueueConsumer()

    def __init__(self, event_type: str, *, batch_size: int = 100, batch_wait_ms: int = 10, **kwargs) -> None:
        self.event_type = event_type
        self.batch_size = batch_size
        self.batch_wait = batch_wait_ms / 1000
        self.queues: ConsumerQueues | None = None
        self._publisher: Publisher | None = None
        self._buffer: list[Delivery] = []
        self._flush_timer = None
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

    # -- receiving and batching -------------------------------------------------------------
    def handle_message(self, body, message) -> None:
        try:
            envelope = parse_event(body)
        except ContractViolation as exc:
            # Will never succeed: no point in retrying; park it for a person to look at.
            log.error("invalid %s message on %s parked: %s", self.event_type, self.queue.name, exc)
            self._park(message, body, attempt=self._attempt_of(message), reason=f"ContractViolation: {exc}")
            return
        delivery = Delivery(envelope, message, body, time.perf_counter())
        if self._attempt_of(message) > 0:
            # It failed before, so it likely fails again: alone, it cannot fail a batch with it.
            self._dispatch([delivery])
            return
        self._buffer.append(delivery)
        if len(self._buffer) >= self.batch_size:
            self._flush()
        elif self._flush_timer is None:
            self._flush_timer = eventlet.spawn_after(self.batch_wait, self._flush)

    def _flush(self) -> None:
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        batch, self._buffer = self._buffer, []
        if batch:
            self._dispatch(batch)

    def _dispatch(self, batch: list[Delivery]) -> None:
        context_data = self.unpack_message_headers(batch[0].message)
        context_data["correlation_id"] = batch[0].envelope.correlation_id
        try:
            self.container.spawn_worker(
                self, ([d.envelope for d in batch],), {}, context_data=context_data,
                handle_result=partial(self._handle_result, batch),
            )
        except ContainerBeingKilled:
            for delivery in batch:
                self.queue_consumer.requeue_message(delivery.message)

    # -- outcomes ---------------------------------------------------------------------------
    def _handle_result(self, batch: list[Delivery], worker_ctx, result=None, exc_info=None):
        service = self.container.service_name
        now = time.perf_counter()
        handle_seconds = metrics.EVENT_HANDLE_SECONDS.labels(service, self.event_type)
        for delivery in batch:
            handle_seconds.observe(now - delivery.received)
        if exc_info is None:
            applied = len(batch) if result is None else int(result)
            metrics.EVENTS_HANDLED.labels(service, self.event_type, "ok").inc(applied)
            if applied < len(batch):
                metrics.EVENTS_HANDLED.labels(service, self.event_type, "duplicate").inc(len(batch) - applied)
            wall_clock = datetime.now(timezone.utc)
            end_to_end = metrics.EVENT_END_TO_END_SECONDS.labels(service, self.event_type)
            for delivery in batch:
                end_to_end.observe(max((wall_clock - delivery.envelope.occurred_at).total_seconds(), 0.0))
            self.queue_consumer.ack_messages([delivery.message for delivery in batch])
            return result, exc_info

        if len(batch) > 1:
            # Find the culprit: each event alone, outside the worker pool this worker occupies.
            log.warning("%s: a batch of %d failed (%s); handling its events one by one",
                        self.method_name, len(batch), type(exc_info[1]).__name__)
            self.container.spawn_managed_thread(lambda: [self._dispatch([d]) for d in batch])
            return result, exc_info

        [delivery] = batch
        exc = exc_info[1]
        reason = f"{type(exc).__name__}: {exc}"[:500]
        attempt = self._attempt_of(delivery.message) + 1
        if attempt <= len(self.retry_delays_ms) and not isinstance(exc, ContractViolation):
            log.warning("%s %s failed (try %d, %s); retrying in %d ms", self.method_name,
                        delivery.envelope.event_id, attempt, type(exc).__name__, self.retry_delays_ms[attempt - 1])
            if self._republish(delivery.message, delivery.body, self.queues.retries[attempt - 1].name, attempt, reason):
                metrics.EVENTS_HANDLED.labels(service, self.event_type, "retried").inc()
        else:
            details = type(exc).__name__ if isinstance(exc, DomainError) else \
                "".join(traceback.format_exception(*exc_info))[-2000:]
            log.error("%s %s failed %d times; parked in %s\n%s", self.method_name, delivery.envelope.event_id,
                      attempt, self.queues.dead.name, details)
            self._park(delivery.message, delivery.body, attempt, reason)
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
