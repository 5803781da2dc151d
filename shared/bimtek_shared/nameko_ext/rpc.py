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
"""
from __future__ import annotations

import logging
from time import time as unix_time

from amqp.exceptions import ConnectionError as AmqpConnectionError
from kombu.exceptions import OperationalError as KombuOperationalError
from kombu.entity import TRANSIENT_DELIVERY_MODE
from nameko.amqp.publish import Publisher
from nameko.constants import AMQP_SSL_CONFIG_KEY, AMQP_URI_CONFIG_KEY, DEFAULT_SERIALIZER, \
    LOGIN_METHOD_CONFIG_KEY, SERIALIZER_CONFIG_KEY
from nameko.messaging import QueueConsumer
from nameko.rpc import Responder, RpcConsumer, get_rpc_exchange
from nameko.rpc import Rpc as NamekoRpc

from ..contracts.rpc import DEADLINE_HEADER
from ..observability import metrics

log = logging.getLogger(__name__)


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


class _ReplyPublisher(Publisher):
    use_confirms = False
    delivery_mode = TRANSIENT_DELIVERY_MODE


class _Responder(Responder):
    publisher_cls = _ReplyPublisher


class _RpcConsumer(RpcConsumer):
    queue_consumer = ResilientQueueConsumer()

    def handle_result(self, message, result, exc_info):
        config = self.container.config
        responder = _Responder(
            config[AMQP_URI_CONFIG_KEY], get_rpc_exchange(config),
            config.get(SERIALIZER_CONFIG_KEY, DEFAULT_SERIALIZER), message,
            ssl=config.get(AMQP_SSL_CONFIG_KEY), login_method=config.get(LOGIN_METHOD_CONFIG_KEY),
        )
        try:
            result, exc_info = responder.send_response(result, exc_info)
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
