"""A consumer whose broker connection drops while a handler is running must survive it.

The broker reclaims the unacked message when the connection goes, so the consumer must not fail
on acking it afterwards: it should let it be redelivered (the inbox absorbs the repeat) and
reconnect. ``test_broker_restart`` meets this by chance (a restart under load); here it happens
every time, with a proxy between the drill consumer and RabbitMQ: while a handler works without
yielding to eventlet's hub (1.5 s of CPU-bound work), the proxy resets the connection (TCP RST);
the handler then returns and its ack is the process's first contact with the dead socket - the
window a broker restart or a network blip opens at random under load.
"""
from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.integration.drill import DEAD, QUEUE, Drill, ping, purge_drill_queues, start_drill
from tests.integration.harness import wait_until
from tests.integration.netcut import CuttableProxy
from tests.support.servers import PrivatePostgres, PrivateRabbitMQ

pytestmark = pytest.mark.integration

BUSY_MS = 1500


@pytest.fixture
def proxied_drill(
    rabbit_server: PrivateRabbitMQ, pg_server: PrivatePostgres, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Drill, CuttableProxy]]:
    proxy = CuttableProxy(rabbit_server.port)
    try:
        with start_drill(proxy.uri(), pg_server.url(""), "it_drill_cut", tmp_path_factory.mktemp("drill-cut")) as drill:
            yield drill, proxy
    finally:
        proxy.close()
        # The drill queues are shared with test_dead_letters: leave nothing behind (with the bug,
        # the reclaimed event is still queued, its consumer gone).
        purge_drill_queues(rabbit_server.amqp_uri)


def test_a_consumer_survives_a_connection_reset_under_a_running_handler(
    proxied_drill: tuple[Drill, CuttableProxy],
) -> None:
    drill, proxy = proxied_drill
    drill.publish([ping(-BUSY_MS, fail=False)])
    wait_until(lambda: drill.slow_started() == 1, timeout=10, interval=0.02,
               message=lambda: f"the slow handler did not start; log:\n{drill.log_tail()}")
    started = time.monotonic()

    proxy.cut()  # while the handler is busy
    time.sleep(max(0.0, BUSY_MS / 1000 + 1.0 - (time.monotonic() - started)))

    crashed = "thread exited with error" in drill.log.read_text(errors="replace")
    assert drill.alive and not crashed, (
        f"the consumer's container died with its connection (process "
        f"{'still running' if drill.alive else f'exited, status {drill.process.returncode}'}):\n"
        + _summary(drill.log.read_text(errors="replace"))
    )
    # It reconnected, got the reclaimed event again and handled it (once more: 1.5 s).
    wait_until(lambda: drill.slow_started() == 2, timeout=20, interval=0.1,
               message=lambda: f"{drill.slow_started()} slow handler runs; log:\n{drill.log_tail()}")
    wait_until(lambda: drill.depth(QUEUE) == 0 and drill.handled("ok") + drill.handled("duplicate") >= 1,
               timeout=10, interval=0.2)
    assert drill.depth(DEAD) == 0
    assert drill.ready()


def _summary(log: str) -> str:
    """The log without traceback bodies: one line per record, plus each exception's last line."""
    lines = log.splitlines()
    keep = [line for i, line in enumerate(lines)
            if line[:4].isdigit() or (i + 1 < len(lines) and lines[i + 1][:4].isdigit() and not line.startswith(" "))]
    return "\n".join(keep[-25:])
