"""``@rpc``: nameko's RPC entrypoint, hardened.

- A request received after its deadline (``x-bimtek-deadline-ms``, set by the gateway) is acked and
  dropped: its caller already answered 504 and may have retried, so running it would do the work
  twice. nameko's prefetch pushes requests into a consumer's socket buffer, where the broker's
  message expiration no longer reaches them (seen with a stalled process: SIGSTOP, then SIGCONT).
- Acks survive a connection that died under them (see ``ResilientQueueConsumer``).
- Replies go out transient and without publisher confirms. A reply lives only as long as its
  caller waits (a reply queue does not survive the caller, let alone the broker), so writing it to
  disk and waiting for the broker's confirm bought nothing; both cost about a quarter of a small
  call's CPU. A reply lost with the broker is a timeout for the caller, as a lost request is;
  the worker notes it and carries on (nameko would let the error kill the whole service).
- Replies go out on one long-lived producer per service process (``ReplySender``), serialized
  once. nameko's ``Responder`` built a kombu connection from the URI, took a producer from a pool
  and serialized the answer twice for every reply: about a quarter of a read's CPU in the service.
"""
from __future__ import annotations

import logging
import sys
from time import time as unix_time

import kombu.serialization
from amqp.exceptions import ConnectionError as AmqpConnectionError
from eventlet.semaphore import Semaphore
from kombu import Connection, Producer
from kombu.exceptions import OperationalError as KombuOperationalError
from kombu.entity import TRANSIENT_DELIVERY_MODE
from nameko.constants import AMQP_SSL_CONFIG_KEY, AMQP_URI_CONFIG_KEY, LOGIN_METHOD_CONFIG_KEY
from nameko.exceptions import UnserializableValueError, serialize
from nameko.messaging import QueueConsumer
from nameko.rpc import RpcConsumer, get_rpc_exchange
from nameko.rpc import Rpc as NamekoRpc

from ..contracts.rpc import DEADLINE_HEADER
from ..observability import metrics

log = logging.getLogger(__name__)

REPLY_CONNECT_TIMEOUT_SECONDS = 2  # a broker that does not answer must not hold every reply for long


class ResilientQueueConsumer(QueueConsumer):
    """nameko 2.14 catches only amqp's ConnectionError around an ack; a socket reset just before
    raises OSError instead, which kills the consumer thread and with it the whole service. The
    broker has already taken the unacked message back and will redeliver it (handlers
    deduplicate), so the right answer is to note it and carry on."""

    def ack_message(self, message) -> None:
        try:
            super().ack_message(message)
        except (OSError, AmqpConnectionError) as exc:
            log.warning("ack lost with the broker connection (%s); the message will be redelivered",
                        type(exc).__name__)

    def requeue_message(self, message) -> None:
        try:
            super().requeue_message(message)
        except (OSError, AmqpConnectionError) as exc:
            log.warning("requeue lost with the broker connection (%s); the broker requeues it itself",
                        type(exc).__name__)


class ReplySender:
    """Publishes replies on one connection, opened on the first reply and again after the broker
    dropped it (one new attempt per reply; a reply that still fails is a timeout for its caller).
    A lock keeps each reply's frames together: greenthreads share the channel."""

    def __init__(self, amqp_uri: str, exchange, ssl=None, login_method=None) -> None:
        self._connection_args = {"hostname": amqp_uri, "ssl": ssl, "login_method": login_method}
        self._exchange = exchange
        self._connection: Connection | None = None
        self._producer: Producer | None = None
        self._lock = Semaphore()

    def send(self, message, result, exc_info) -> tuple:
        """Answers ``message`` (its reply_to and correlation id) with ``result`` or the error of
        ``exc_info``; returns them as nameko's ``Responder.send_response`` does."""
        error = serialize(exc_info[1]) if exc_info is not None else None
        content_type = message.properties["content_type"]
        serializer = kombu.serialization.registry.type_to_name[content_type]
        try:
            content_type, encoding, body = kombu.serialization.dumps({"result": result, "error": error}, serializer)
        except Exception:  # the answer must still go out: nameko's own rule (UnserializableValueError)
            exc_info = sys.exc_info()
            content_type, encoding, body = kombu.serialization.dumps(
                {"result": None, "error": serialize(UnserializableValueError(result))}, serializer)
            result = None
        with self._lock:
            for attempt in (1, 2):
                try:
                    self._producer_now().publish(
                        body, exchange=self._exchange, routing_key=message.properties["reply_to"],
                        correlation_id=message.properties.get("correlation_id"), content_type=content_type,
                        content_encoding=encoding, delivery_mode=TRANSIENT_DELIVERY_MODE, retry=False)
                    break
                except (OSError, AmqpConnectionError, KombuOperationalError):
                    self._close()
                    if attempt == 2:
                        raise
        return result, exc_info

    def _producer_now(self) -> Producer:
        if self._producer is None:
            self._connection = Connection(**self._connection_args, connect_timeout=REPLY_CONNECT_TIMEOUT_SECONDS)
            # One try, no back-off: the next reply tries again, and the lock is not held for seconds.
            self._connection.ensure_connection(max_retries=0)
            self._producer = Producer(self._connection.channel(), auto_declare=False)
        return self._producer

    def _close(self) -> None:
        connection, self._connection, self._producer = self._connection, None, None
        if connection is not None:
            try:
                connection.release()
            except Exception:  # already gone with the broker; nothing left to release
                pass

    def stop(self) -> None:
        with self._lock:
            self._close()


class _RpcConsumer(RpcConsumer):
    queue_consumer = ResilientQueueConsumer()

    def setup(self) -> None:
        super().setup()
        config = self.container.config
        self.replies = ReplySender(config[AMQP_URI_CONFIG_KEY], get_rpc_exchange(config),
                                   ssl=config.get(AMQP_SSL_CONFIG_KEY), login_method=config.get(LOGIN_METHOD_CONFIG_KEY))

    def stop(self) -> None:
        super().stop()
        self.replies.stop()

    def handle_result(self, message, result, exc_info):
        try:
            result, exc_info = self.replies.send(message, result, exc_info)
        except (OSError, AmqpConnectionError, KombuOperationalError) as exc:
            # The broker went away after the work was done (a crash or restart): the caller times
            # out. Acked all the same if the ack still gets through: running it again helps nobody.
            log.warning("reply lost with the broker connection (%s); the caller times out", type(exc).__name__)
        self.queue_consumer.ack_message(message)
        return result, exc_info


class Rpc(NamekoRpc):
    rpc_consumer = _RpcConsumer()

    def handle_message(self, body, message) -> None:
        deadline = (message.headers or {}).get(DEADLINE_HEADER)
        try:
            expired = deadline is not None and unix_time() * 1000 > int(deadline)
        except (TypeError, ValueError):
            expired = False
        if expired:
            log.warning("%s: request received after its deadline dropped (its caller already gave up)",
                        self.method_name)
            metrics.RPC_HANDLED.labels(self.container.service_name, self.method_name, "expired").inc()
            self.rpc_consumer.queue_consumer.ack_message(message)
            return
        super().handle_message(body, message)


rpc = Rpc.decorator
