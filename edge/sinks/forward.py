"""The loop every remote sink runs behind its durable queue: take the oldest batch, send it,
acknowledge it only when the other end confirmed it; while the other end is away, keep it and
try again with backoff (0.25 s doubling to 5 s, or the server's Retry-After), saying so once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from fieldlab.sinks.queue import DurableQueue


class Retry(Exception):
    """The batch could not be sent now; it stays queued."""

    def __init__(self, why: str, after: float | None = None):
        super().__init__(why)
        self.after = after


class Forwarder:
    """``send(batch_id, payload, points)`` returns the points to acknowledge as sent, or None
    when it dealt with the batch itself (split it, quarantined it); it raises `Retry`.

    With ``combine`` (points) queued batches go out together, up to that many points a write,
    and a write of fewer waits up to ``linger_s`` after the oldest was queued for more (as
    Telegraf's flush interval): a live stream makes a few writes a second, not one per
    pipeline batch. ``batch_id`` is None for such a write; a sink that cannot take it as it
    is (too large, a point refused) returns None and the batches go one at a time until one
    is written, so a refusal still costs only its own batch."""

    def __init__(
        self,
        name: str,
        queue: DurableQueue,
        send: Callable[[int | None, bytes, int], Awaitable[int | None]],
        where: str,
        log: logging.Logger,
        *,
        combine: int = 0,
        linger_s: float = 0.0,
    ):
        self.name, self.queue, self._send, self.where, self._log = name, queue, send, where, log
        self.combine, self.linger_s = combine, linger_s
        self.up = False
        self.errors = 0
        self.writes = 0
        self.wake = asyncio.Event()
        #: a combined write was refused: its batches (up to this id) go one at a time
        self._alone_through: int | None = None

    async def _next(self) -> tuple[int | None, int, int, bytes, int] | None:
        """(batch id, or None for several; first id, last id, payload, points) of the next
        write."""
        if not self.combine or self._alone_through is not None:
            one = await asyncio.to_thread(self.queue.peek)
            if one is None or self._alone_through is None or one[0] <= self._alone_through:
                return None if one is None else (one[0], one[0], one[0], one[1], one[2])
            self._alone_through = None
        head = await asyncio.to_thread(self.queue.peek_many, self.combine)
        if head is not None and head[3] < self.combine and self.linger_s > 0:
            wait = head[5] + self.linger_s - time.time()
            if wait > 0:
                await asyncio.sleep(min(wait, self.linger_s))
                head = await asyncio.to_thread(self.queue.peek_many, self.combine)
        if head is None:
            return None
        first, last, payload, points, batches, _ = head
        return (first if batches == 1 else None), first, last, payload, points

    async def run(self) -> None:
        delay = 0.25
        while True:
            item = await self._next()
            if item is None:
                self.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), 1.0)
                continue
            batch_id, first, last, payload, points = item
            try:
                sent = await self._send(batch_id, payload, points)
            except Retry as exc:
                self.errors += 1
                if self.up or self.errors == 1:
                    self._log.warning(
                        "%s: cannot write to %s (%s); keeping data in %s",
                        self.name,
                        self.where,
                        exc,
                        self.queue.path,
                    )
                self.up = False
                await asyncio.sleep(exc.after or delay)
                delay = min(delay * 2, 5.0)
                continue
            delay = 0.25
            if not self.up:
                self.up = True
                self._log.warning("%s: writing to %s", self.name, self.where)
            if sent is None:  # the sink dealt with it, or could not take several together
                if batch_id is None:
                    self._alone_through = last
                continue
            self.writes += 1
            if batch_id is None:
                await asyncio.to_thread(self.queue.ack_many, first, last, sent)
            else:
                await asyncio.to_thread(self.queue.ack, batch_id, sent)


class QueuedSink:
    """What a sink with a durable queue and a `Forwarder` offers the gateway: its state, its
    run loop, and waking the loop when `accept` queued something (from any thread)."""

    _forward: Forwarder
    _loop: asyncio.AbstractEventLoop | None = None

    @property
    def up(self) -> bool:
        return self._forward.up

    @property
    def errors(self) -> int:
        return self._forward.errors

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        await self._forward.run()

    def _poke(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._forward.wake.set)


def combined(parts: list[dict[str, float]]) -> dict[str, float]:
    """One sink's numbers over several queues (the gateway's and its workers'): counts and
    sizes add up, the oldest age is the oldest, and it is up when every queue that holds
    points is writing (a worker's queue with nothing to send has not needed InfluxDB yet)."""
    out: dict[str, float] = {}
    for part in parts:
        for key, value in part.items():
            out[key] = out.get(key, 0.0) + value
    out["oldest_age_s"] = max((p.get("oldest_age_s", 0.0) for p in parts), default=0.0)
    out["up"] = float(all(p.get("up", 1.0) or not p.get("queued_points", 0) for p in parts))
    return out
