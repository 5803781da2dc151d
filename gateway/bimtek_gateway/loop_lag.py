"""How late the event loop runs: the one number that shows something blocking it.

A background task asks to be woken every 100 ms and records how much later than asked it was
woken. Anything that holds the loop (CPU work, a blocking call) shows up as lag, whatever the
request that caused it.
"""
from __future__ import annotations

import asyncio

from prometheus_client import Gauge

CHECK_INTERVAL_SECONDS = 0.1

EVENT_LOOP_LAG = Gauge(
    "bimtek_event_loop_lag_seconds",
    "How late the event loop woke a timer at the last check (every 100 ms): time it was busy elsewhere.",
    ["service"],
)


async def track_event_loop_lag(service: str = "gateway", interval: float = CHECK_INTERVAL_SECONDS) -> None:
    """Runs until cancelled, updating the gauge after every interval."""
    loop = asyncio.get_running_loop()
    gauge = EVENT_LOOP_LAG.labels(service)
    while True:
        due = loop.time() + interval
        await asyncio.sleep(interval)
        gauge.set(max(loop.time() - due, 0.0))
