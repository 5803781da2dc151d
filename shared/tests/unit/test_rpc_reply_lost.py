"""A reply that cannot be sent because the broker just went away must not take the service down.

Found by the chaos run (tests/integration/test_chaos.py): RabbitMQ crashed while scheduling was
answering an RPC; nameko's publisher raised kombu's OperationalError (ECONNREFUSED) from the worker,
and nameko stopped the whole container, so the process exited.
"""
from types import SimpleNamespace

import pytest
from kombu.exceptions import OperationalError

from bimtek_shared.nameko_ext.rpc import _Responder, _RpcConsumer


class AckRecorder:
    def __init__(self) -> None:
        self.acked: list[object] = []

    def ack_message(self, message: object) -> None:
        self.acked.append(message)


@pytest.mark.parametrize("error", [OperationalError("[Errno 111] ECONNREFUSED"), ConnectionResetError(104, "reset")])
def test_a_reply_lost_with_the_broker_leaves_the_worker_standing(monkeypatch: pytest.MonkeyPatch,
                                                                 error: Exception) -> None:
    def broker_gone(self, result, exc_info):
        raise error

    monkeypatch.setattr(_Responder, "send_response", broker_gone)
    consumer = _RpcConsumer()
    consumer.container = SimpleNamespace(config={"AMQP_URI": "amqp://guest:guest@127.0.0.1:9/"})
    consumer.queue_consumer = AckRecorder()
    message = SimpleNamespace(properties={"reply_to": "caller", "correlation_id": "c-1"}, headers={})

    assert consumer.handle_result(message, {"id": "v-1"}, None) == ({"id": "v-1"}, None)
    assert consumer.queue_consumer.acked == [message]  # done is done: a redelivery would run it twice
