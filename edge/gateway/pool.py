"""Worker processes for the MQTT sources (`gateway: {workers: N}`), seen from the gateway.

One Python process takes what one paho subscriber can take. With N workers the broker splits an
MQTT source's messages over N connections (`$share/<group>/…`, the group named after the
source's client id unless `share_group` names one), each worker decodes its share (worker.py),
and the gateway keeps what must be in one place:

- **the one writer**: every batch goes through the gateway's pipeline and sinks (one SQLite
  connection); the worker acknowledges the batch's messages to the broker once the gateway
  says it is committed. An InfluxDB sink is the exception: each worker queues its live samples
  for it in a queue file of its own and sends them from there (worker.py), the gateway's queue
  keeps what the gateway writes itself, and /health adds the queues up;
- **liveness**: each source is one connector here (`WorkerSource`), whichever worker saw a
  machine's messages. It is connected while all its workers are; the first worker that loses
  the broker (or dies) writes the source's machines `offline` once, and they are back when every
  worker is (domain.md §3). With a `share_group` of its own the source shares the broker with
  other gateways and declares nothing offline, as in one process;
- **counts**: /health and /metrics count the samples of all workers on their source, and list
  each worker (pid, restarts, batches, samples).

A worker that dies is started again after a second; what it had not acknowledged the broker
sends again (to it or to another worker), so nothing is lost and the store's upsert on (series,
time) keeps nothing twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from hmac import compare_digest
from multiprocessing.process import BaseProcess
from typing import Any, Literal

from fieldlab.connectors.base import ConnectorContext
from fieldlab.connectors.mqtt.connector import Config, MqttConnector
from fieldlab.domain.packed import Packed
from fieldlab.domain.samples import Sample
from fieldlab.gateway import channel, worker
from fieldlab.gateway.batch import Batch
from fieldlab.sinks.influxdb import InfluxSink

log = logging.getLogger("fieldlab.gateway")

#: batches waiting per source between the workers and the pipeline (then the workers wait)
SOURCE_QUEUE = 64


@dataclass
class PooledBatch(Batch):
    """A worker's batch: its samples in columns as they came over the line (domain/packed.py),
    which the store writes without a `Sample` apiece, and the sinks whose durable queues the
    worker filled itself before the gateway saw it (its live samples, for InfluxDB)."""

    packed: Packed | None = None
    queued: frozenset[str] = frozenset()

    @property
    def count(self) -> int:
        return len(self.samples) + (len(self.packed) if self.packed is not None else 0)

    def unpack(self) -> list[Sample]:
        if self.packed is not None:
            self.samples = self.samples + self.packed.samples()
            self.packed = None
        return self.samples

    def columns(self) -> Packed | None:
        return self.packed

    def queued_for(self, sink: str) -> bool:
        return sink in self.queued

    def from_worker(self) -> bool:
        return True


@dataclass
class WorkerState:
    index: int
    process: BaseProcess | None = None
    writer: asyncio.StreamWriter | None = None
    generation: int = 0
    restarts: int = 0
    batches: int = 0
    samples: int = 0
    #: the numbers of the worker's own InfluxDB queues, by sink name (as it last said)
    sinks: dict[str, dict[str, float]] = field(default_factory=dict)
    gone: asyncio.Event = field(default_factory=asyncio.Event)


def group_name(cfg: Config) -> str:
    return cfg.share_group or "fieldlab-" + re.sub(r"[^A-Za-z0-9_-]", "-", cfg.client_id)


class WorkerSource:
    """One MQTT source read by the workers: a connector like any other to the gateway."""

    def __init__(self, pool: WorkerPool, index: int, cfg: Config):
        self.pool, self.index, self.cfg = pool, index, cfg
        # The gateway-side half of the MQTT connector: machines, clock, liveness rules.
        self.inner = MqttConnector(cfg)
        self.name, self.url = cfg.name, cfg.url
        self.own_clock, self.change_times = True, False
        # the gateway-side connector's list, shared: it grows as machines are first seen
        self.machines: list[str] = self.inner.machines
        self.queue: asyncio.Queue[tuple[int, int, tuple[Any, ...]]] = asyncio.Queue(SOURCE_QUEUE)
        self.up = [False] * pool.n
        self.present = [True] * pool.n
        self.closed = [asyncio.Event() for _ in range(pool.n)]
        self.stopping = False

    def worker_config(self, worker_index: int) -> dict[str, Any]:
        return self.cfg.model_copy(
            update={
                "client_id": f"{self.cfg.client_id}-w{worker_index}",
                "share_group": group_name(self.cfg),
            }
        ).model_dump()

    async def run(self, ctx: ConnectorContext) -> None:
        self.stopping = False
        try:
            while True:
                w, generation, frame = await self.queue.get()
                await self._handle(ctx, w, generation, frame)
        finally:
            # Batches that arrive from now on are not committed, so never acknowledged: the
            # broker keeps them for the next start.
            self.stopping = True
            while not self.queue.empty():
                self.queue.get_nowait()

    async def _handle(
        self, ctx: ConnectorContext, w: int, generation: int, frame: tuple[Any, ...]
    ) -> None:
        kind = frame[0]
        if kind == "batch":
            _, _, batch_id, keeps_time, packed, rejected, held = frame
            ack = None if batch_id is None else self.pool.acker(w, generation, self.index, batch_id)
            state = self.pool.workers[w]
            state.batches += 1
            state.samples += len(packed)
            newest = max(packed.ts) if keeps_time and len(packed) else None
            self.inner.saw(ctx, packed.machines(), newest)
            rejected = ctx.tally(len(packed), rejected)
            if not len(packed) and not rejected and ack is None:
                return
            # packed in columns as they came: the store writes them without a Sample apiece
            await self.pool.emit(
                PooledBatch(
                    [],
                    rejected,
                    source=self.name,
                    on_commit=ack,
                    now=ctx.clock.now(),
                    keeps_time=keeps_time,
                    packed=packed,
                    queued=self.pool.queued if held else frozenset(),
                )
            )
        elif kind == "count":
            ctx.count(frame[2], frame[3])
        elif kind == "connected":
            self.up[w], self.present[w] = True, bool(frame[2])
            if all(self.up):
                await self.inner.connected(ctx, all(self.present))
        elif kind == "lost":
            how: Literal["unreachable", "refused", "gone"] = frame[2]
            self.up[w] = False
            await self.inner.lost(ctx, how, f"worker {w}: {frame[3]}")

    def offer(self, w: int, generation: int, frame: tuple[Any, ...]) -> asyncio.Future[None] | None:
        if self.stopping:  # batches are dropped unacknowledged; events no longer matter
            return None
        return asyncio.ensure_future(self.queue.put((w, generation, frame)))

    async def close(self) -> None:
        """After the gateway committed everything: each worker sends its last acks and
        disconnects this source (transport.py says why it waits for the broker to go quiet)."""
        waiting = []
        for state in self.pool.workers:
            if state.writer is not None:
                self.closed[state.index].clear()
                channel.write(state.writer, ("close", self.index))
                waiting.append(self.closed[state.index].wait())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*waiting), 5)


class WorkerPool:
    def __init__(
        self,
        n: int,
        sources: list[Config],
        emit: Callable[[Batch], Awaitable[None]],
        sinks: Sequence[InfluxSink] = (),
    ):
        self.n = n
        self.sources = [WorkerSource(self, i, cfg) for i, cfg in enumerate(sources)]
        #: the gateway's way in for a batch: the contact guard, then the pipeline
        self.emit = emit
        #: the InfluxDB sinks: each worker queues and sends its live samples for them itself
        self.sinks = list(sinks)
        self.queued = frozenset(s.name for s in self.sinks)
        self.workers = [WorkerState(k) for k in range(n)]
        self.token = secrets.token_bytes(channel.TOKEN_BYTES)
        self.port = 0
        self.stopping = False
        self._server: asyncio.Server | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        for s in self.sources:
            log.warning(
                "%s: %d worker processes read through $share/%s/… (a broker that does not keep "
                "shared subscriptions over a restart, Mosquitto 2.0, drops what is published "
                "until they are back; Mosquitto 2.1's persist-sqlite plugin keeps them: "
                "docs/SCALING.md)",
                s.name,
                self.n,
                group_name(s.cfg),
            )
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        self._tasks = [
            asyncio.create_task(self._supervise(w), name=f"worker {w.index}") for w in self.workers
        ]

    def _spawn(self, w: WorkerState) -> BaseProcess:
        ctx = multiprocessing.get_context("spawn")
        level = logging.getLogger("fieldlab").getEffectiveLevel()
        configs = [s.worker_config(w.index) for s in self.sources]
        sinks = [s.for_worker(w.index) for s in self.sinks]
        proc = ctx.Process(
            target=worker.main,
            args=(self.port, self.token, w.index, configs, level, sinks),
            name=f"fieldlab-worker-{w.index}",
            daemon=True,
        )
        proc.start()
        return proc

    async def _supervise(self, w: WorkerState) -> None:
        """Keep worker `w` running: the gateway never silently stops reading."""
        while not self.stopping:
            w.gone.clear()
            w.process = await asyncio.to_thread(self._spawn, w)
            while w.process.is_alive() and not w.gone.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(w.gone.wait(), 0.5)
            if self.stopping:
                return
            code = w.process.exitcode
            w.restarts += 1
            log.error("worker %d stopped (exit code %s); starting it again in 1 s", w.index, code)
            self._lost_worker(w, f"the worker process stopped (exit code {code})")
            with contextlib.suppress(Exception):
                w.process.kill()
            await asyncio.sleep(1.0)

    def _lost_worker(self, w: WorkerState, why: str) -> None:
        w.generation += 1  # acks of the old process go nowhere: the broker sends again
        w.writer = None
        for s in self.sources:
            s.offer(w.index, w.generation, ("lost", s.index, "gone", why))
            s.closed[w.index].set()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            hello = await asyncio.wait_for(reader.readexactly(channel.HELLO.size), 10)
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        token, index = channel.HELLO.unpack(hello)
        if not compare_digest(token, self.token) or not 0 <= index < self.n:
            writer.close()
            return
        w = self.workers[index]
        w.generation += 1
        generation = w.generation
        w.writer = writer
        try:
            while True:
                frame = await channel.read(reader)
                if frame[0] == "closed":
                    self.sources[frame[1]].closed[index].set()
                    continue
                if frame[0] == "sinks":
                    w.sinks = frame[1]
                    continue
                pending = self.sources[frame[1]].offer(index, generation, frame)
                if pending is not None:
                    await pending  # a full queue: stop reading this worker (backpressure)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            if w.generation == generation:
                w.gone.set()
            with contextlib.suppress(Exception):
                writer.close()

    def acker(self, w: int, generation: int, source: int, batch_id: int) -> Callable[[], None]:
        state = self.workers[w]

        def ack() -> None:
            if state.generation == generation and state.writer is not None:
                channel.write(state.writer, ("ack", source, batch_id))

        return ack

    async def stop(self) -> None:
        """After the sources closed: each worker stops; one that does not within 5 s is killed."""
        self.stopping = True
        for w in self.workers:
            if w.writer is not None:
                with contextlib.suppress(Exception):
                    channel.write(w.writer, ("stop",))
        deadline = time.monotonic() + 5
        for w in self.workers:
            while w.process is not None and w.process.is_alive() and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            if w.process is not None and w.process.is_alive():
                log.error("worker %d did not stop; killing it", w.index)
                w.process.kill()
            w.gone.set()
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            self._server.close()
        for w in self.workers:
            if w.process is not None:
                await asyncio.to_thread(w.process.join, 2)

    def sink_stats(self, name: str) -> list[dict[str, float]]:
        """What each worker last said of its queue for sink `name`."""
        return [w.sinks[name] for w in self.workers if name in w.sinks]

    def report(self) -> list[dict[str, Any]]:
        return [
            {
                "index": w.index,
                "pid": w.process.pid if w.process is not None else None,
                "alive": bool(w.process is not None and w.process.is_alive()),
                "restarts": w.restarts,
                "batches": w.batches,
                "samples": w.samples,
            }
            for w in self.workers
        ]
