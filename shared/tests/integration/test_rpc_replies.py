"""Replies to RPC callers on a real RabbitMQ: one long-lived connection per service process, a new
one after the broker dropped it, and nameko's wire format unchanged."""
from __future__ import annotations

import json
import time
import uuid
from types import SimpleNamespace

import pytest
from kombu import Connection, Exchange, Queue
from nameko.exceptions import RemoteError

from bimtek_shared.contracts.errors import DomainError
from bimtek_shared.nameko_ext.rpc import ReplySender

pytestmark = pytest.mark.integration

AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/"
RPC_EXCHANGE = Exchange(f"test-rpc-{uuid.uuid4().hex[:8]}", type="topic", durable=False, auto_delete=True)


@pytest.fixture
def reply_queue():
    """A caller's reply queue, bound to the exchange by its own name, as nameko callers bind theirs."""
    name = f"test-replies-{uuid.uuid4().hex[:8]}"
    with Connection(AMQP_URI) as connection:
        queue = Queue(name, RPC_EXCHANGE, routing_key=name, auto_delete=True)(connection.channel())
        queue.declare()
        yield name, queue
        queue.delete()


def request(reply_to: str) -> SimpleNamespace:
    return SimpleNamespace(properties={"reply_to": reply_to, "correlation_id": uuid.uuid4().hex,
                                       "content_type": "application/json"}, headers={})


def received(queue) -> tuple[dict, dict]:
    deadline = time.monotonic() + 5
    while (message := queue.get(no_ack=True)) is None:
        assert time.monotonic() < deadline, "no reply arrived"
        time.sleep(0.01)
    return json.loads(message.body), message.properties


def test_replies_keep_nameko_s_format_and_survive_a_dropped_connection(reply_queue) -> None:
    name, queue = reply_queue
    sender = ReplySender(AMQP_URI, RPC_EXCHANGE)
    try:
        asked = request(name)
        assert sender.send(asked, {"id": "p-1"}, None) == ({"id": "p-1"}, None)
        body, properties = received(queue)
        assert body == {"result": {"id": "p-1"}, "error": None}
        assert properties["correlation_id"] == asked.properties["correlation_id"]
        assert properties["delivery_mode"] == 1  # transient: it lives only as long as its caller waits
        first_connection = sender._connection

        # The broker drops the connection (a restart does this): the next reply opens a new one.
        first_connection.connection.sock.close()
        try:
            raise DomainError("participant_not_found")
        except DomainError as exc:
            error = (type(exc), exc, exc.__traceback__)
        sender.send(request(name), None, error)
        body, _ = received(queue)
        assert sender._connection is not first_connection
        assert body["result"] is None and body["error"]["exc_type"] == "DomainError"
        assert RemoteError(body["error"]["exc_type"], body["error"]["value"])

        unserializable = sender.send(request(name), {"when": object()}, None)
        body, _ = received(queue)
        assert unserializable[0] is None and body["error"]["exc_type"] == "UnserializableValueError"
    finally:
        sender.stop()
