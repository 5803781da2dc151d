"""Metric names shared by every process, so dashboards and alerts read one scheme.

Labels: ``service`` everywhere; ``event_type``, ``method``, ``queue`` and ``outcome`` are bounded by
the catalogue and the code. Never a participant id, a NIK or any other unbounded value.
"""
from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# 0.2 s is the gateway's p99 budget (bench/README.md): a bucket edge there makes its alert exact
# (deploy/prometheus/rules/bimtek.yml), where a quantile between two edges would be interpolated.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

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
# The queue gauges carry the queue's event_type too, so alerts can join them with
# bimtek_events_handled_total (a queue with messages whose event type is no longer handled is stalled).
DEAD_LETTER_MESSAGES = Gauge(
    "bimtek_dead_letter_messages",
    "Messages parked in a dead-letter queue of this service.",
    ["service", "event_type", "queue"],
)
CONSUMER_QUEUE_MESSAGES = Gauge(
    "bimtek_consumer_queue_messages",
    "Messages waiting in a consumer queue of this service (consumer lag).",
    ["service", "event_type", "queue"],
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


# -- business progress per regency (contracts.progress): current counts each service reads from its
# own database, refreshed by the service every PROGRESS_REFRESH_SECONDS (15 s by default).
_PROGRESS_HELP = {
    "cooperatives_registered": "Cooperatives registered.",
    "participants_registered": "Participants registered and active (not withdrawn or erased).",
    "participants_scheduled": "Participants seated in a session of a published plan.",
    "participants_checked_in": "Participants present on at least one session day.",
    "participants_completed": "Participants who completed a closed session.",
    "certificates_issued": "Certificates valid now (the current version, not revoked).",
    "certificates_revoked": "Certificates revoked.",
    "certificates_reissued": "Certificates superseded by a re-issue.",
    "certificates_awaiting_issue": "Completions recorded without a certificate yet.",
}
PROGRESS = {figure: Gauge(f"bimtek_{figure}", text, ["service", "regency"]) for figure, text in _PROGRESS_HELP.items()}


def set_progress(service: str, regencies: list[dict]) -> None:
    """Set ``service``'s progress gauges to these regencies' totals (contracts.progress.tally)."""
    for regency in regencies:
        for figure, gauge in PROGRESS.items():
            if figure in regency["totals"]:
                gauge.labels(service, regency["regency"]).set(regency["totals"][figure])
