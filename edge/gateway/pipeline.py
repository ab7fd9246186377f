"""The pipeline: a bounded queue of batches from connectors, fanned out to every sink.

Connectors `await emit(batch)`: when the sinks fall behind, the queue fills and emitting waits
(backpressure instead of unbounded memory). A batch, with its rejected input, is written to
every sink (the local store, the InfluxDB sink's durable queue), and only then is its
`on_commit` called.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

from fieldlab.domain.packed import Packed
from fieldlab.domain.rejected import Rejected
from fieldlab.domain.samples import Sample
from fieldlab.gateway.batch import Batch
from fieldlab.sinks.base import PackedSink, Sink

log = logging.getLogger("fieldlab.gateway")

#: Commits up to this many samples run on the event loop (a few milliseconds at most).
INLINE_COMMIT = 5000


@dataclass
class PipelineStats:
    batches: int = 0
    samples: int = 0
    rejected: int = 0
    commit_seconds: float = 0.0
    by_source: dict[str, int] = field(default_factory=dict)


class Pipeline:
    def __init__(
        self,
        sinks: list[Sink],
        *,
        queue_batches: int = 1000,
        max_samples_per_commit: int = 20_000,
    ):
        self.sinks = sinks
        self.queue: asyncio.Queue[Batch] = asyncio.Queue(maxsize=queue_batches)
        self.max_samples = max_samples_per_commit
        self.stats = PipelineStats()
        #: called with every committed batch's samples (the alert rules), on the event loop
        self.watchers: list[Callable[[list[Sample]], None]] = []

    async def emit(self, batch: Batch) -> None:
        await self.queue.put(batch)

    def commit(
        self,
        samples: list[Sample],
        rejected: list[Rejected],
        packed: list[Packed] | None = None,
        sinks: list[Sink] | None = None,
    ) -> None:
        """Write to the sinks (all of them unless named) now: the gateway's gap-closing
        `offline` at start. `packed` only when every one of them takes it (`_take_packed`)."""
        sinks = self.sinks if sinks is None else sinks
        if packed:
            if self._take_packed(sinks):
                for sink in sinks:
                    cast(PackedSink, sink).accept_packed(samples, rejected, packed)
                return
            samples = samples + [s for p in packed for s in p.samples()]
        if samples or rejected:
            for sink in sinks:
                sink.accept(samples, rejected)

    def _take_packed(self, sinks: list[Sink]) -> bool:
        """Whether a worker's batch goes to these sinks in columns, without a `Sample` apiece
        (domain/packed.py): when all of them take it so and no watcher needs the samples."""
        return not self.watchers and all(hasattr(s, "accept_packed") for s in sinks)

    def _parts(self, batches: list[Batch]) -> list[tuple[list[Sink], list[Batch]]]:
        """Which batches each sink writes: not those already in its durable queue (a gateway
        worker queues its live samples for InfluxDB itself, pool.py). Sinks that write the
        same batches share one part."""
        parts: dict[tuple[int, ...], tuple[list[Sink], list[Batch]]] = {}
        for sink in self.sinks:
            mine = [b for b in batches if not b.queued_for(sink.name)]
            key = tuple(id(b) for b in mine)
            if key not in parts:
                parts[key] = ([], mine)
            parts[key][0].append(sink)
        return list(parts.values())

    async def run(self) -> None:
        while True:
            batches = [await self.queue.get()]
            n = batches[0].count
            while n < self.max_samples and not self.queue.empty():
                b = self.queue.get_nowait()
                batches.append(b)
                n += b.count
            await self._flush(batches)

    async def _flush(self, batches: list[Batch]) -> None:
        writes: list[tuple[list[Sink], list[Sample], list[Rejected], list[Packed]]] = []
        for sinks, part in self._parts(batches):
            if not self._take_packed(sinks):
                for b in part:
                    b.unpack()
            writes.append(
                (
                    sinks,
                    [s for b in part for s in b.samples],
                    [r for b in part for r in b.rejected],
                    [c for b in part if (c := b.columns()) is not None],
                )
            )
        n = sum(b.count for b in batches)
        rejected = sum(len(b.rejected) for b in batches)

        def commit() -> None:
            for sinks, samples, rejects, packed in writes:
                self.commit(samples, rejects, packed, sinks)

        t0 = time.perf_counter()
        while True:
            try:
                if n <= INLINE_COMMIT:
                    # Small commits run on the loop: a worker thread would fight the MQTT
                    # network thread for the GIL on every row (measured: 0.75× → 0.9× of a
                    # bare paho subscriber). Large ones go to a thread so the loop stays live.
                    commit()
                else:
                    await asyncio.to_thread(commit)
                break
            except Exception as exc:  # noqa: BLE001 - a full disk must not kill the gateway
                log.error("cannot commit %d samples (%s); retrying in 1 s", n, exc)
                await asyncio.sleep(1.0)
        self.stats.commit_seconds += time.perf_counter() - t0
        self.stats.batches += len(batches)
        self.stats.samples += n
        self.stats.rejected += rejected
        for b in batches:
            self.stats.by_source[b.source] = self.stats.by_source.get(b.source, 0) + b.count
            if b.on_commit is not None:
                b.on_commit()
        if self.watchers:
            samples = [s for b in batches for s in b.samples]  # unpacked: `_take_packed`
            for watch in self.watchers:
                try:
                    watch(samples)
                except Exception:  # a watcher's bug must not stop ingest
                    log.exception("a pipeline watcher failed")

    async def drain(self, timeout: float = 10.0) -> None:
        """Commit what is queued (at shutdown)."""
        deadline = time.monotonic() + timeout
        while not self.queue.empty() and time.monotonic() < deadline:
            batches = []
            while not self.queue.empty():
                batches.append(self.queue.get_nowait())
            await self._flush(batches)
