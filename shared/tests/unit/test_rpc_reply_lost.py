"""A reply that cannot be sent because the broker just went away must not take the service down.

Found by the chaos run (tests/integration/test_chaos.py): RabbitMQ crashed while scheduling was
answering an RPC; nameko's publisher raised kombu's OperationalError (ECONNREFUSED) from the worker,
and nameko stopped the whole container, so the process exited.
"""
from types import SimpleNamespace

from kombu import Exchange

from bimtek_shared.nameko_ext.rpc import ReplySender, _RpcConsumer


class AckRecorder:
    def __init__(self) -> None:
        self.acked: list[object] = []

    def ack_message(self, message: object) -> None:
        self.acked.append(message)


def test_a_reply_lost_with_the_broker_leaves_the_worker_standing() -> None:
    consumer = _RpcConsumer()
    # Nothing listens on port 9: both attempts to open the reply connection are refused.
    consumer.replies = ReplySender("amqp://guest:guest@127.0.0.1:9/", Exchange("nameko-rpc", type="topic"))
    consumer.queue_consumer = AckRecorder()
    message = SimpleNamespace(properties={"reply_to": "caller", "correlation_id": "c-1",
                                          "content_type": "application/json"}, headers={})

    assert consumer.handle_result(message, {"id": "v-1"}, None) == ({"id": "v-1"}, None)
    assert consumer.queue_consumer.acked == [message]  # done is done: a redelivery would run it twice
