"""Asyncio client for nameko RPC, speaking nameko's AMQP wire format.

The gateway runs on asyncio, so it cannot use nameko's ClusterRpcProxy
(eventlet + threads). Instead this module publishes nameko-compatible request
messages with aio-pika and correlates the replies itself:

* request: topic exchange ``nameko-rpc``, routing key ``<service>.<method>``,
  JSON body ``{"args": [...], "kwargs": {...}}``, ``reply_to`` = routing key of
  our reply binding, worker context as ``nameko.<key>`` headers;
* reply: the service publishes to the same exchange with routing key
  ``reply_to``, so we consume from our own queue bound with that key.

One connection, one publishing channel and one reply queue are shared by all
concurrent calls; replies are dispatched to per-call futures by correlation id.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import date, datetime, time
from decimal import Decimal
from time import time as unix_time
from typing import Any

import aio_pika
from aio_pika.abc import (
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustChannel,
    AbstractRobustConnection,
)
from aio_pika.exceptions import ChannelNotFoundEntity, DeliveryError, PublishError
from prometheus_client import Counter, Histogram

from bimtek_shared.contracts.rpc import DEADLINE_HEADER

__all__ = [
    "NamekoRpcClient",
    "RemoteError",
    "RpcError",
    "ServiceTimeout",
    "ServiceUnavailable",
    "RPC_CALLS",
    "RPC_CALL_DURATION",
]

log = logging.getLogger(__name__)

RPC_EXCHANGE = "nameko-rpc"  # nameko's default RPC_EXCHANGE
HEADER_PREFIX = "nameko"
REPLY_QUEUE_EXPIRES_MS = 300_000  # same TTL nameko uses for its reply queues

# ``service`` is the caller (the client's name, "gateway"), as on every metric; ``target_service``
# the service called.
RPC_CALLS = Counter(
    "bimtek_rpc_client_calls_total",
    "nameko RPC calls made by the gateway, by service called, method and outcome.",
    ["service", "target_service", "method", "outcome"],
)
RPC_CALL_DURATION = Histogram(
    "bimtek_rpc_client_call_duration_seconds",
    "Wall time of nameko RPC calls as seen by the gateway (all outcomes).",
    ["service", "target_service", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------


class RpcError(Exception):
    """Base class for every error raised by :class:`NamekoRpcClient`."""


class ServiceUnavailable(RpcError):
    """No running consumer for the service, unknown service, or broker down.

    The request was either never sent or can no longer be answered.
    """

    def __init__(self, service: str, reason: str = "no running instance") -> None:
        super().__init__(f"service {service!r} unavailable: {reason}")
        self.service = service
        self.reason = reason


class ServiceTimeout(RpcError):
    """No reply within the timeout. The request may or may not have run."""

    def __init__(self, service: str, method: str, timeout: float) -> None:
        super().__init__(f"{service}.{method} did not reply within {timeout:g}s")
        self.service = service
        self.method = method
        self.timeout = timeout


class RemoteError(RpcError):
    """The remote method raised; fields mirror nameko's serialized error."""

    def __init__(self, exc_type: str, exc_path: str, exc_args: list[Any], value: str) -> None:
        super().__init__(f"{exc_type}: {value}")
        self.exc_type = exc_type
        self.exc_path = exc_path
        self.exc_args = exc_args
        self.value = value


class _Undeliverable(Exception):
    """Internal: the request was refused or can no longer be answered.

    Raised into a pending call without knowing its service name; ``_call``
    turns it into ServiceUnavailable.
    """


# --------------------------------------------------------------------------
# JSON compatible with kombu's serializer
# --------------------------------------------------------------------------
# nameko (kombu >= 5.3) wraps datetime/Decimal/UUID/... in
# {"__type__": ..., "__value__": ...} envelopes. Speak the same dialect so
# such values survive the round trip instead of leaking envelopes upstream.


def _json_default(obj: Any) -> Any:
    # datetime before date: a datetime is also a date.
    if isinstance(obj, datetime):
        return {"__type__": "datetime", "__value__": obj.isoformat()}
    if isinstance(obj, date):
        return {"__type__": "date", "__value__": obj.isoformat()}
    if isinstance(obj, time):
        return {"__type__": "time", "__value__": obj.isoformat()}
    if isinstance(obj, Decimal):
        return {"__type__": "decimal", "__value__": str(obj)}
    if isinstance(obj, uuid.UUID):
        return {"__type__": "uuid", "__value__": str(obj)}
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


_ENVELOPE_DECODERS: dict[str, Callable[[Any], Any]] = {
    "datetime": datetime.fromisoformat,
    "date": lambda v: datetime.fromisoformat(v).date(),
    "time": time.fromisoformat,
    "decimal": Decimal,
    "uuid": uuid.UUID,
    "bytes": lambda v: v.encode("utf-8"),
    "base64": lambda v: base64.b64decode(v.encode("utf-8")),
}


def _json_object_hook(obj: dict[str, Any]) -> Any:
    if len(obj) == 2 and "__type__" in obj and "__value__" in obj:
        decoder = _ENVELOPE_DECODERS.get(obj["__type__"])
        if decoder is not None:
            return decoder(obj["__value__"])
    return obj


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, default=_json_default).encode("utf-8")


def _loads(data: bytes) -> Any:
    return json.loads(data, object_hook=_json_object_hook)


# --------------------------------------------------------------------------
# Client
# --------------------------------------------------------------------------


class NamekoRpcClient:
    """Shared asyncio RPC client for nameko services.

    ``availability_ttl`` is how long a positive "service has a consumer"
    answer is trusted; negative answers are never cached so a service that
    comes back is noticed on the next call. ``exchange`` must match the
    services' ``RPC_EXCHANGE`` setting.
    """

    def __init__(
        self,
        amqp_uri: str,
        *,
        default_timeout: float = 10.0,
        client_name: str = "gateway",
        availability_ttl: float = 1.0,
        exchange: str = RPC_EXCHANGE,
    ) -> None:
        self._amqp_uri = amqp_uri
        self._default_timeout = default_timeout
        self._client_name = client_name
        self._availability_ttl = availability_ttl
        self._exchange_name = exchange

        # nameko replies to the *routing key* in reply_to, not to a queue.
        self._reply_routing_key = str(uuid.uuid4())
        self._reply_queue_name = f"rpc.reply-{client_name}-{self._reply_routing_key}"

        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractRobustChannel | None = None
        self._exchange: AbstractExchange | None = None
        self._reply_queue: AbstractQueue | None = None
        # Passive declares of a missing queue close the channel (404), so
        # probes get their own channel, replaced after each such failure.
        self._probe_channel: AbstractRobustChannel | None = None
        self._probe_lock = asyncio.Lock()

        self._broker_up = False
        self._pending: dict[str, asyncio.Future[Any]] = {}
        self._available_since: dict[str, float] = {}  # service -> loop time
        self._probes: dict[str, asyncio.Future[bool]] = {}

    # -- lifecycle ---------------------------------------------------------

    async def start(self) -> None:
        if self._connection is not None:
            return
        connection = await aio_pika.connect_robust(
            self._amqp_uri,
            client_properties={"connection_name": f"{self._client_name}-rpc-client"},
        )
        try:
            # on_return_raises: a mandatory publish nobody is bound to
            # (unknown service) raises PublishError instead of returning.
            channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
            # Idempotent; needed for binding when no service ever ran.
            exchange = await channel.declare_exchange(
                self._exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
            )
            # Declared robust: aio-pika re-declares, re-binds and re-consumes
            # it after a reconnect (the broker drops exclusive queues).
            reply_queue = await channel.declare_queue(
                self._reply_queue_name,
                exclusive=True,
                auto_delete=True,
                arguments={"x-expires": REPLY_QUEUE_EXPIRES_MS},
            )
            await reply_queue.bind(exchange, routing_key=self._reply_routing_key)
            await reply_queue.consume(self._on_reply, no_ack=True)
        except BaseException:
            await connection.close()
            raise

        connection.close_callbacks.add(self._on_connection_lost)
        connection.reconnect_callbacks.add(self._on_reconnected)
        self._connection = connection
        # Keep strong references: RobustConnection tracks its channels in a
        # WeakSet, and only channels still alive get restored on reconnect.
        self._channel = channel
        self._exchange = exchange
        self._reply_queue = reply_queue
        self._broker_up = True

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        self._broker_up = False
        connection.close_callbacks.discard(self._on_connection_lost)
        connection.reconnect_callbacks.discard(self._on_reconnected)
        self._fail_pending(_Undeliverable("client closed"))
        await connection.close()
        self._channel = self._exchange = self._reply_queue = None
        self._probe_channel = None
        self._available_since.clear()

    async def __aenter__(self) -> NamekoRpcClient:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def is_connected(self) -> bool:
        """True while the broker connection (and our reply queue) is up."""
        return self._broker_up

    @property
    def in_flight(self) -> int:
        """Number of calls currently waiting for a reply."""
        return len(self._pending)

    # -- public API --------------------------------------------------------

    async def call(
        self,
        service: str,
        method: str,
        *,
        kwargs: dict[str, Any] | None = None,
        args: list[Any] | None = None,
        context: Mapping[str, str | None] | None = None,
        timeout: float | None = None,
        endpoint: str | None = None,
    ) -> Any:
        """Call ``service.method`` and return its result.

        ``context`` becomes nameko worker context data (``nameko.<key>``
        headers); ``endpoint`` names the caller in ``call_id_stack``
        (defaults to ``method``). Raises ServiceUnavailable, ServiceTimeout
        or RemoteError.
        """
        timeout = self._default_timeout if timeout is None else timeout
        # Serialise before timing: an unserialisable argument is a caller bug,
        # not an RPC outcome.
        body = _dumps({"args": list(args or ()), "kwargs": dict(kwargs or {})})
        headers = self._headers(context, endpoint or method)

        loop = asyncio.get_running_loop()
        started = loop.time()
        outcome = "ok"
        try:
            return await self._call(service, method, body, headers, timeout)
        except RemoteError:
            outcome = "remote_error"
            raise
        except ServiceTimeout:
            outcome = "timeout"
            raise
        except ServiceUnavailable:
            outcome = "unavailable"
            raise
        except RpcError:
            outcome = "remote_error"  # malformed reply: the remote side misbehaved
            raise
        except BaseException:
            # Cancelled by the caller (or a bug): not an RPC outcome.
            outcome = ""
            raise
        finally:
            if outcome:
                RPC_CALLS.labels(self._client_name, service, method, outcome).inc()
                RPC_CALL_DURATION.labels(self._client_name, service, method).observe(loop.time() - started)

    async def is_available(self, service: str) -> bool:
        """Fresh check that ``service`` has at least one running consumer."""
        if not self._broker_up:
            return False
        try:
            async with asyncio.timeout(self._default_timeout):
                return await asyncio.shield(self._probe_shared(service))
        except Exception:  # includes TimeoutError: a wedged broker is "down"
            return False

    # -- internals ---------------------------------------------------------

    def _headers(self, context: Mapping[str, str | None] | None, endpoint: str) -> dict[str, Any]:
        headers: dict[str, Any] = {
            f"{HEADER_PREFIX}.{key}": value
            for key, value in (context or {}).items()
            if value is not None  # nameko drops None headers too
        }
        call_id = f"{self._client_name}.{endpoint}.{uuid.uuid4()}"
        headers[f"{HEADER_PREFIX}.call_id_stack"] = [call_id]
        return headers

    async def _call(
        self,
        service: str,
        method: str,
        body: bytes,
        headers: dict[str, Any],
        timeout: float,
    ) -> Any:
        exchange = self._exchange
        if exchange is None:
            raise RuntimeError("NamekoRpcClient.start() has not been called")
        # Fail fast during a broker outage: aio-pika would otherwise park the
        # publish until the robust connection is back.
        if not self._broker_up:
            raise ServiceUnavailable(service, "message broker unreachable")

        correlation_id = str(uuid.uuid4())
        reply: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        publishing: asyncio.Task[None] | None = None
        try:
            async with asyncio.timeout(timeout):
                await self._ensure_available(service)
                headers = {**headers, DEADLINE_HEADER: int((unix_time() + timeout) * 1000)}
                message = aio_pika.Message(
                    body,
                    content_type="application/json",  # nameko picks the reply serializer from it
                    content_encoding="utf-8",
                    correlation_id=correlation_id,
                    reply_to=self._reply_routing_key,
                    # Transient: a request outlives its caller's wait by at most the timeout, so
                    # writing it to the broker's disk buys nothing (a lost one is a 504).
                    delivery_mode=aio_pika.DeliveryMode.NOT_PERSISTENT,
                    headers=headers,
                    # A request still queued when the caller gives up is
                    # dropped by the broker instead of running later.
                    expiration=max(timeout, 0.001),
                )
                # Register before publishing: the reply can beat the confirm.
                self._pending[correlation_id] = reply
                # Publish in a task so a connection loss (which fails `reply`)
                # wakes us even if aio-pika is parked waiting to reconnect.
                publishing = asyncio.create_task(
                    self._publish(exchange, message, f"{service}.{method}", reply)
                )
                return await reply
        except TimeoutError:
            # The service may have just stopped: don't trust the cache.
            self._available_since.pop(service, None)
            raise ServiceTimeout(service, method, timeout) from None
        except _Undeliverable as exc:
            self._available_since.pop(service, None)
            raise ServiceUnavailable(service, str(exc)) from None
        finally:
            self._pending.pop(correlation_id, None)
            # Never let a stuck publish go out after the caller gave up.
            if publishing is not None and not publishing.done():
                publishing.cancel()

    async def _publish(
        self,
        exchange: AbstractExchange,
        message: aio_pika.Message,
        routing_key: str,
        reply: asyncio.Future[Any],
    ) -> None:
        try:
            await exchange.publish(message, routing_key, mandatory=True)
        except PublishError:
            # Returned: no queue is bound to the routing key (unknown service).
            failure = _Undeliverable("request returned by the broker (no route)")
        except DeliveryError as exc:
            failure = _Undeliverable(f"request rejected by the broker ({exc})")
        except Exception as exc:  # connection/channel loss and the like
            failure = _Undeliverable(f"request not sent ({exc!r})")
        else:
            return
        if not reply.done():
            reply.set_exception(failure)

    async def _ensure_available(self, service: str) -> None:
        seen = self._available_since.get(service)
        if seen is not None and asyncio.get_running_loop().time() - seen < self._availability_ttl:
            return  # hot path: no broker round trip
        try:
            # shield: one caller timing out must not cancel a probe others share.
            available = await asyncio.shield(self._probe_shared(service))
        except Exception as exc:
            raise ServiceUnavailable(service, f"availability check failed ({exc!r})") from None
        if not available:
            raise ServiceUnavailable(service)

    def _probe_shared(self, service: str) -> asyncio.Future[bool]:
        """One in-flight probe per service, shared by concurrent callers."""
        probe = self._probes.get(service)
        if probe is None:
            probe = asyncio.ensure_future(self._probe(service))
            self._probes[service] = probe

            def _done(fut: asyncio.Future[bool]) -> None:
                if self._probes.get(service) is fut:
                    del self._probes[service]
                if not fut.cancelled():
                    fut.exception()  # mark retrieved even if every waiter left

            probe.add_done_callback(_done)
        return probe

    async def _probe(self, service: str) -> bool:
        connection = self._connection
        if connection is None:
            raise RuntimeError("client closed")
        async with self._probe_lock:  # a 404 closes the channel for everyone on it
            channel = self._probe_channel
            if channel is None:
                channel = await connection.channel(publisher_confirms=False)
                self._probe_channel = channel
            try:
                # robust=False: must not be cached or re-declared by aio-pika.
                queue = await channel.declare_queue(f"rpc-{service}", passive=True, robust=False)
            except ChannelNotFoundEntity:
                # Service never started (nameko creates the queue on start).
                self._probe_channel = None
                with contextlib.suppress(Exception):
                    await channel.close()
                self._available_since.pop(service, None)
                return False
        # nameko's queue is durable, so it outlives the service: only the
        # consumer count tells whether anything is running.
        result = queue.declaration_result
        if result.consumer_count and result.consumer_count > 0:
            self._available_since[service] = asyncio.get_running_loop().time()
            return True
        self._available_since.pop(service, None)
        return False

    async def _on_reply(self, message: AbstractIncomingMessage) -> None:
        correlation_id = message.correlation_id
        reply = self._pending.pop(correlation_id, None) if correlation_id else None
        if reply is None or reply.done():
            # The caller already timed out or went away.
            log.debug("dropping late/unknown RPC reply %s", correlation_id)
            return
        try:
            payload = _loads(message.body)
            error = payload.get("error")
            if error is None:
                reply.set_result(payload.get("result"))
            else:
                reply.set_exception(
                    RemoteError(
                        exc_type=str(error.get("exc_type")),
                        exc_path=str(error.get("exc_path")),
                        exc_args=list(error.get("exc_args") or []),
                        value=str(error.get("value")),
                    )
                )
        except Exception as exc:  # malformed reply must not kill the consumer
            reply.set_exception(RpcError(f"malformed RPC reply: {exc!r}"))

    def _fail_pending(self, exc: Exception) -> None:
        pending, self._pending = self._pending, {}
        for reply in pending.values():
            if not reply.done():
                reply.set_exception(exc)

    def _on_connection_lost(self, _sender: Any, exc: BaseException | None = None) -> None:
        # Also called for every failed reconnect attempt; log the edge only.
        if self._broker_up:
            log.warning("RPC client lost its broker connection: %r", exc)
        self._broker_up = False
        self._available_since.clear()
        # The exclusive reply queue dies with the connection, so no pending
        # call can be answered any more: fail them now rather than at timeout.
        self._fail_pending(_Undeliverable(f"broker connection lost ({exc!r})"))

    def _on_reconnected(self, _sender: Any) -> None:
        # Called after aio-pika restored channels, exchange, reply queue,
        # binding and consumer.
        self._broker_up = True
        log.info("RPC client reconnected to broker")
