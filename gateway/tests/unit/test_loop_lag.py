"""The event-loop lag gauge: near zero on an idle loop, the blocked time when something blocks it."""
import asyncio
import time

from bimtek_gateway.loop_lag import EVENT_LOOP_LAG, track_event_loop_lag


def lag(service: str) -> float:
    return EVENT_LOOP_LAG.labels(service)._value.get()


def test_an_idle_loop_shows_almost_no_lag():
    async def scenario() -> float:
        # A long interval: a watcher measuring the interval instead of the lateness would show >= 0.2
        watcher = asyncio.create_task(track_event_loop_lag("lag-idle", interval=0.2))
        await asyncio.sleep(0.45)
        watcher.cancel()
        return lag("lag-idle")

    assert asyncio.run(scenario()) < 0.1  # loose: the machine's cores are shared


def test_a_blocked_loop_shows_the_time_it_was_blocked():
    async def scenario() -> float:
        watcher = asyncio.create_task(track_event_loop_lag("lag-blocked", interval=0.02))
        await asyncio.sleep(0.05)
        time.sleep(0.3)  # what must never happen in the gateway: the whole loop stops
        await asyncio.sleep(0.001)  # the watcher wakes first: its timer is long overdue
        watcher.cancel()
        return lag("lag-blocked")

    assert 0.25 < asyncio.run(scenario()) < 1.0
