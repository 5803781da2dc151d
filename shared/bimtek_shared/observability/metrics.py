"""Metric names shared by every process, so dashboards and alerts read one scheme.

Labels: ``service`` everywhere; ``event_type``, ``method``, ``queue`` and ``outcome`` are bounded by
the catalogue and the code. Never a participant id, a NIK or any other unbounded value.
"""
from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

EVENTS_HANDLED = Counter(
    "bimtek_events_handled_total",
    "Events taken from a consumer queue, by outcome (ok, duplicate, retried, dead_lettered).",
    ["service", "event_type", "outcome"],
)
EVENT_HANDLE_SECONDS = Histogram(
    "bimtek_event_handle_duration_seconds",
    "Time spent handling one event (successful or not).",
    ["service", "event_type"],
    buckets=LATENCY_BUCKETS,
)
EVENT_END_TO_END_SECONDS = Histogram(
    "bimtek_event_end_to_end_seconds",
    "From the event's occurred_at to the end of its successful handling.",
    ["service", "event_type"],
    buckets=LATENCY_BUCKETS,
)
DEAD_LETTER_MESSAGES = Gauge(
    "bimtek_dead_letter_messages",
    "Messages parked in a dead-letter queue of this service.",
    ["service", "queue"],
)
CONSUMER_QUEUE_MESSAGES = Gauge(
    "bimtek_consumer_queue_messages",
    "Messages waiting in a consumer queue of this service (consumer lag).",
    ["service", "queue"],
)
OUTBOX_PUBLISHED = Counter(
    "bimtek_outbox_published_total",
    "Events the relay published and the broker confirmed.",
    ["service", "event_type"],
)
OUTBOX_PUBLISH_FAILURES = Counter(
    "bimtek_outbox_publish_failures_total",
    "Outbox publish attempts that failed (returned, nacked, unconfirmed, broker_error, database_error).",
    ["service", "reason"],
)
OUTBOX_BACKLOG = Gauge("bimtek_outbox_backlog", "Events in the outbox not yet published.", ["service"])
OUTBOX_OLDEST_AGE = Gauge(
    "bimtek_outbox_oldest_pending_age_seconds",
    "Age of the oldest unpublished outbox event (0 when empty).",
    ["service"],
)
RPC_HANDLED = Counter(
    "bimtek_rpc_handled_total",
    "RPC calls handled by a service, by outcome (ok, domain_error, error, expired).",
    ["service", "method", "outcome"],
)
RPC_HANDLE_SECONDS = Histogram(
    "bimtek_rpc_handle_duration_seconds",
    "Time a service spent handling one RPC call.",
    ["service", "method"],
    buckets=LATENCY_BUCKETS,
)
