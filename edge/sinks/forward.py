"""The loop every remote sink runs behind its durable queue: take the oldest batch, send it,
acknowledge it only when the other end confirmed it; while the other end is away, keep it and
try again with backoff (0.25 s doubling to 5 s, or the server's Retry-After), saying so once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from fieldlab.sinks.queue import DurableQueue


class Retry(Exception):
    """The batch could not be sent now; it stays queued."""

    def __init__(self, why: str, after: float | None = None):
        super().__init__(why)
        self.after = after


class Forwarder:
    """``send(batch_id, payload, points)`` returns the points to acknowledge as sent, or None
    when it dealt with the batch itself (split it, quarantined it); it raises `Retry`."""

    def __init__(
        self,
        name: str,
        queue: DurableQueue,
        send: Callable[[int, bytes, int], Awaitable[int | None]],
        where: str,
        log: logging.Logger,
    ):
        self.name, self.queue, self._send, self.where, self._log = name, queue, send, where, log
        self.up = False
        self.errors = 0
        self.wake = asyncio.Event()

    async def run(self) -> None:
        delay = 0.25
        while True:
            item = await asyncio.to_thread(self.queue.peek)
            if item is None:
                self.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), 1.0)
                continue
            batch_id, payload, points = item
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
            if sent is not None:
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
