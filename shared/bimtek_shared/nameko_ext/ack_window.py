"""Which deliveries of one channel may be acked with a single ``basic.ack(multiple=True)``.

RabbitMQ's ``multiple`` ack settles every outstanding delivery up to a tag, on the whole channel.
The event consumers of a service share one channel and finish out of order (a long import may hold
an early tag while later batches complete), so only a contiguous run of finished deliveries at the
head may be settled that way. Finished deliveries behind an unfinished one wait, and are acked one
by one if they wait too long (see ``EventQueueConsumer``), so a slow handler does not keep other
consumers' messages unacked and their prefetch full.

Plain Python on purpose: delivery tags in, tags to ack out; the caller talks to the broker.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable


class AckWindow:
    def __init__(self) -> None:
        # tag -> finished?, in delivery order (tags rise on a channel)
        self._outstanding: OrderedDict[int, bool] = OrderedDict()

    def __len__(self) -> int:
        return len(self._outstanding)

    def received(self, tag: int) -> None:
        self._outstanding[tag] = False

    def finish(self, tags: Iterable[int]) -> int | None:
        """Mark ``tags`` finished; return the tag to ack with ``multiple=True`` (the end of the
        finished run at the head, which then leaves the window), or None if the head is unfinished.
        Tags the window does not hold (settled already, or from before a reconnect) are ignored."""
        for tag in tags:
            if tag in self._outstanding:
                self._outstanding[tag] = True
        upto = None
        while self._outstanding:
            tag, finished = next(iter(self._outstanding.items()))
            if not finished:
                break
            self._outstanding.popitem(last=False)
            upto = tag
        return upto

    def has_stragglers(self) -> bool:
        return any(self._outstanding.values())

    def take_stragglers(self) -> list[int]:
        """Finished tags stuck behind an unfinished one: they leave the window, to be acked singly."""
        stragglers = [tag for tag, finished in self._outstanding.items() if finished]
        for tag in stragglers:
            del self._outstanding[tag]
        return stragglers

    def forget(self, tag: int) -> None:
        """The delivery was settled another way (requeued): no ack may name it any more."""
        self._outstanding.pop(tag, None)
