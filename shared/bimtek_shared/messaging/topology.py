"""RabbitMQ names and declarations derived from the event catalogue.

Names follow nameko's conventions so the topology reads the same in the management UI as any
nameko deployment: a durable topic exchange ``<producer>.events`` per producing service, routing key
= event type, and one durable queue per consumer ``evt-<producer>-<event type>--<service>.<method>``.

Around every consumer queue we add what nameko lacks:
- ``<queue>.retry-<ms>ms``: one delay queue per backoff step; a message waits there for the step's
  TTL and is then dead-lettered back into the consumer queue (RabbitMQ's TTL + DLX, no plugin);
- ``<queue>.dead``: the dead-letter queue where a message is parked after its last retry.
Queue-level TTLs (not per-message ones) keep every message of a step expiring in arrival order.
"""
from __future__ import annotations

from dataclasses import dataclass

from kombu import Connection, Exchange, Queue

from ..contracts.catalogue import CATALOGUE, EventCatalogue, Subscription

DEFAULT_RETRY_DELAYS_MS: tuple[int, ...] = (1_000, 5_000, 30_000, 120_000)
DEAD_LETTER_SUFFIX = ".dead"

# Headers a retried or parked message carries. The try count is ours, not RabbitMQ's x-death,
# which RabbitMQ 4 no longer updates when a client republishes.
ATTEMPT_HEADER = "x-bimtek-attempt"
ERROR_HEADER = "x-bimtek-error"
FAILED_AT_HEADER = "x-bimtek-failed-at"
REPLAYED_HEADER = "x-bimtek-replayed"


def events_exchange(producer: str) -> Exchange:
    return Exchange(f"{producer}.events", type="topic", durable=True, auto_delete=False)


def consumer_queue_name(producer: str, event_type: str, service: str, method: str) -> str:
    return f"evt-{producer}-{event_type}--{service}.{method}"


def retry_queue_name(queue_name: str, delay_ms: int) -> str:
    return f"{queue_name}.retry-{delay_ms}ms"


def dead_letter_queue_name(queue_name: str) -> str:
    return queue_name + DEAD_LETTER_SUFFIX


@dataclass(frozen=True)
class ConsumerQueues:
    """The queues of one subscription: where it consumes, where it waits between tries, where it parks."""

    main: Queue
    retries: tuple[Queue, ...]
    dead: Queue

    @property
    def name(self) -> str:
        return self.main.name


def consumer_queues(
    producer: str, event_type: str, subscription: Subscription, retry_delays_ms: tuple[int, ...]
) -> ConsumerQueues:
    name = consumer_queue_name(producer, event_type, subscription.service, subscription.method)
    main = Queue(
        name,
        exchange=events_exchange(producer),
        routing_key=event_type,
        durable=True,
        auto_delete=False,
    )
    retries = tuple(
        Queue(
            retry_queue_name(name, delay),
            durable=True,
            auto_delete=False,
            queue_arguments={
                "x-message-ttl": delay,
                # The default exchange routes by queue name: expired messages go back to `name`.
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": name,
            },
        )
        for delay in retry_delays_ms
    )
    dead = Queue(dead_letter_queue_name(name), durable=True, auto_delete=False)
    return ConsumerQueues(main=main, retries=retries, dead=dead)


def all_consumer_queues(
    retry_delays_ms: tuple[int, ...], catalogue: EventCatalogue = CATALOGUE
) -> list[ConsumerQueues]:
    return [
        consumer_queues(producer, event_type, sub, retry_delays_ms)
        for producer, event_type, sub in catalogue.subscriptions()
    ]


def declare_topology(
    connection: Connection,
    retry_delays_ms: tuple[int, ...] = DEFAULT_RETRY_DELAYS_MS,
    catalogue: EventCatalogue = CATALOGUE,
) -> list[str]:
    """Declare every exchange and every consumer queue of the catalogue; returns the queue names.

    Run at setup, before any service starts, so an event published before its consumer's first
    start waits in the consumer's queue instead of being unroutable.
    """
    declared: list[str] = []
    with connection.channel() as channel:
        for producer in sorted({spec.producer for spec in catalogue}):
            events_exchange(producer)(channel).declare()
        for queues in all_consumer_queues(retry_delays_ms, catalogue):
            for queue in (queues.main, *queues.retries, queues.dead):
                queue(channel).declare()
                declared.append(queue.name)
    return declared
