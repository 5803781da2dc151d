"""Listing and replaying dead letters: the operator's side of the retry/dead-letter design."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Iterator

from kombu import Connection

from ..messaging.publisher import ConfirmingPublisher, Outcome, OutgoingMessage
from ..messaging.topology import (
    ATTEMPT_HEADER,
    DEFAULT_RETRY_DELAYS_MS,
    ERROR_HEADER,
    FAILED_AT_HEADER,
    REPLAYED_HEADER,
    ConsumerQueues,
    all_consumer_queues,
)


@dataclass(frozen=True)
class DeadLetter:
    queue: str
    event_id: str | None
    event_type: str | None
    attempts: int
    error: str | None
    failed_at: str | None


def _consumer_queues(queue_filter: str | None) -> list[ConsumerQueues]:
    queues = all_consumer_queues(DEFAULT_RETRY_DELAYS_MS)
    return [q for q in queues if queue_filter is None or queue_filter in q.name]


def depths(amqp_uri: str, queue_filter: str | None = None) -> dict[str, int]:
    result = {}
    with Connection(amqp_uri) as conn:
        for queues in _consumer_queues(queue_filter):
            channel = conn.channel()
            try:
                _, count, _ = queues.dead(channel).queue_declare(passive=True)
            except Exception:  # noqa: BLE001 - a queue not declared yet holds nothing
                count = 0
            finally:
                channel.close() if channel.is_open else None
            result[queues.dead.name] = count
    return result


def list_dead_letters(amqp_uri: str, queue_filter: str | None = None, limit: int = 100) -> Iterator[DeadLetter]:
    """Peek without removing: messages are fetched unacknowledged and go back when the channel closes."""
    with Connection(amqp_uri) as conn:
        for queues in _consumer_queues(queue_filter):
            channel = conn.channel()
            try:
                for _ in range(limit):
                    message = channel.basic_get(queues.dead.name, no_ack=False)
                    if message is None:
                        break
                    yield _describe(queues.dead.name, message)
            finally:
                channel.close()


def replay(amqp_uri: str, queue_filter: str | None = None, event_id: str | None = None) -> int:
    """Move dead letters back to their consumer queue with a fresh try count; returns how many.

    Each one is acked in the dead-letter queue only after the broker confirmed it in the consumer
    queue, so a crash mid-replay can duplicate (consumers deduplicate) but never lose one.
    """
    moved = 0
    publisher = ConfirmingPublisher(amqp_uri)
    try:
        with Connection(amqp_uri) as conn:
            for queues in _consumer_queues(queue_filter):
                channel = conn.channel()
                try:
                    while True:
                        message = channel.basic_get(queues.dead.name, no_ack=False)
                        if message is None:
                            break
                        props = message.properties
                        if event_id is not None and props.get("message_id") != event_id:
                            continue  # left unacked: returns to the dead-letter queue on close
                        headers = dict(props.get("application_headers") or {})
                        headers[ATTEMPT_HEADER] = 0
                        headers[REPLAYED_HEADER] = int(headers.get(REPLAYED_HEADER, 0)) + 1
                        outcome = publisher.publish_one(
                            OutgoingMessage(
                                key=message.delivery_tag,
                                exchange="",
                                routing_key=queues.main.name,
                                body=message.body.decode() if isinstance(message.body, bytes) else message.body,
                                headers=headers,
                                message_id=props.get("message_id"),
                                correlation_id=props.get("correlation_id"),
                            )
                        )
                        if outcome is not Outcome.CONFIRMED:
                            raise RuntimeError(f"broker did not confirm the replay ({outcome.value})")
                        channel.basic_ack(message.delivery_tag)
                        moved += 1
                finally:
                    channel.close()
    finally:
        publisher.close()
    return moved


def _describe(queue: str, message) -> DeadLetter:
    props = message.properties
    headers = props.get("application_headers") or {}
    event_type = None
    try:
        event_type = json.loads(message.body).get("type")
    except (ValueError, AttributeError):
        pass
    return DeadLetter(
        queue=queue,
        event_id=props.get("message_id"),
        event_type=event_type,
        attempts=int(headers.get(ATTEMPT_HEADER, 0) or 0),
        error=headers.get(ERROR_HEADER),
        failed_at=headers.get(FAILED_AT_HEADER),
    )
