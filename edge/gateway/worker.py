"""A gateway worker process: the MQTT sources' connections and decoding, nothing else.

With `gateway: {workers: N}` the gateway starts N of these (pool.py). Each holds its own
broker connection per MQTT source, subscribed through `$share/<group>/…`, so the broker splits
the messages between them; it decodes its share (topic routing, JSON, mapping: the per-message
work) and hands the batches to the gateway, which stamps, stores and decides liveness in one
place. A message is acknowledged to the broker only when the gateway says its batch is
committed, as in one process: a worker or the gateway that dies loses nothing, the broker sends
the unacknowledged messages again.

With InfluxDB sinks each worker also keeps a durable queue per sink of its own and forwards it
to InfluxDB itself (InfluxDB takes writes from many clients; the line protocol and the HTTP
writes are per-value work too): its live samples are queued there before the gateway sees them,
and the gateway's own queue keeps only what it writes itself (sinks/influxdb.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal

from fieldlab.connectors.base import ConnectorContext, SourceHealth
from fieldlab.connectors.mqtt.connector import Config, MqttConnector, split
from fieldlab.connectors.mqtt.transport import Message, Session, Transport
from fieldlab.domain.packed import Packed
from fieldlab.domain.rejected import Rejected, RejectionThrottle
from fieldlab.domain.samples import Sample
from fieldlab.gateway import channel
from fieldlab.process import watch_parent
from fieldlab.sinks.influxdb import InfluxConfig, InfluxSink

#: a batch this large is queued for InfluxDB in a thread, so the worker's loop stays live
INLINE_QUEUE = 5000


class Forwarder:
    """The receiver of one source's transport: decodes and sends to the gateway. The first
    worker also fetches the retained values at every connect (`RetainedValues`). With InfluxDB
    sinks the worker queues the live samples for them itself first (`sinks`: the worker's own
    queue files, sinks/influxdb.py); retained values go to the gateway, which stamps them."""

    def __init__(
        self,
        index: int,
        cfg: Config,
        writer: asyncio.StreamWriter,
        *,
        fetch_retained: bool,
        sinks: Sequence[InfluxSink] = (),
    ):
        self.index, self.writer, self.sinks = index, writer, sinks
        self.connector = MqttConnector(cfg)
        self.acks: dict[int, Callable[[], None]] = {}
        self._next = 0
        self.fetch_retained = fetch_retained
        self.fetching: asyncio.Task[None] | None = None
        self.rejections = RejectionThrottle()

    async def connected(self, ctx: ConnectorContext, session_present: bool) -> None:
        channel.write(self.writer, ("connected", self.index, session_present))
        if self.fetch_retained and (self.fetching is None or self.fetching.done()):
            self.fetching = asyncio.create_task(self._retained(ctx))

    async def _retained(self, ctx: ConnectorContext) -> None:
        messages = await RetainedValues(self.connector.cfg).fetch(ctx)
        if messages:
            samples, rejected = self.connector.decode(messages, int(time.time() * 1000))
            packed = Packed.of(samples)
            channel.write(self.writer, ("batch", self.index, None, False, packed, rejected, False))
            await self.writer.drain()

    async def lost(
        self, ctx: ConnectorContext, kind: Literal["unreachable", "refused", "gone"], why: str
    ) -> None:
        channel.write(self.writer, ("lost", self.index, kind, why))

    async def received(
        self, ctx: ConnectorContext, messages: list[Message], ack: Callable[[], None]
    ) -> None:
        now_ms = int(time.time() * 1000)
        for group, keeps_time, _, last in split(messages):
            samples, rejected = self.connector.decode(group, now_ms)
            rejected = self.rejections.keep(rejected, now_ms)  # domain.md §10, before any sink
            held = keeps_time and bool(self.sinks) and bool(samples or rejected)
            if held:
                if len(samples) <= INLINE_QUEUE:
                    self.hold(samples, rejected)
                else:
                    await asyncio.to_thread(self.hold, samples, rejected)
            batch_id = None
            if last:
                batch_id, self._next = self._next, self._next + 1
                self.acks[batch_id] = ack
            packed = Packed.of(samples)
            channel.write(
                self.writer, ("batch", self.index, batch_id, keeps_time, packed, rejected, held)
            )
        await self.writer.drain()  # the gateway's backpressure reaches the broker from here

    def hold(self, samples: list[Sample], rejected: list[Rejected]) -> None:
        """Into this worker's InfluxDB queues, durably, before the gateway sees the batch: the
        broker hears the ack only after that and the gateway's commit."""
        for sink in self.sinks:
            sink.accept(samples, rejected)

    def acked(self, batch_id: int) -> None:
        ack = self.acks.pop(batch_id, None)
        if ack is not None:
            ack()


class RetainedValues:
    """The values as they stand: a broker sends retained messages on a shared subscription
    only up to Mosquitto 2.0.12 (MQTT 5 says never, §4.8.2), so after a (re)connect the first
    worker reads them on a short clean session of its own, with the source's filters unshared
    and its TLS and credentials, until no retained message has come for a moment. They go to the
    gateway as retained values (stamped at the instant contact returned, domain.md §3); where
    the shared subscription brought them too, the store keeps each once."""

    QUIET_S = 0.5
    AT_MOST_S = 10.0

    def __init__(self, cfg: Config):
        plain = [t.filter() for t in cfg.topics]
        broker = cfg.model_copy(update={"client_id": f"{cfg.client_id}-retained"})
        self.transport = Transport(
            f"{cfg.name} (retained values)",
            broker,
            Session(plain, persistent=False, protocol=cfg.protocol, flush_ms=cfg.flush_ms),
        )
        self.messages: list[Message] = []
        self.up = asyncio.Event()
        self.last = time.monotonic()

    async def connected(self, ctx: ConnectorContext, session_present: bool) -> None:
        self.last = time.monotonic()
        self.up.set()

    async def lost(
        self, ctx: ConnectorContext, kind: Literal["unreachable", "refused", "gone"], why: str
    ) -> None:
        pass  # the source's own connection reports the broker's trouble

    async def received(
        self, ctx: ConnectorContext, messages: list[Message], ack: Callable[[], None]
    ) -> None:
        # live messages come through the shared subscription as well: only the retained here,
        # and only they count as news (a busy stream must not keep the look open its 10 s)
        retained = [m for m in messages if m.retain]
        if retained:
            self.messages += retained
            self.last = time.monotonic()
        ack()

    async def fetch(self, ctx: ConnectorContext) -> list[Message]:
        task = asyncio.create_task(self.transport.run(ctx, self))
        deadline = time.monotonic() + self.AT_MOST_S
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.up.wait(), self.AT_MOST_S)
            while time.monotonic() < deadline and time.monotonic() - self.last < self.QUIET_S:
                await asyncio.sleep(0.05)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await self.transport.close()
        return self.messages


async def _nowhere(  # pragma: no cover - a worker's transport never emits
    samples: list[Sample], rejected: list[Rejected], /, **meta: object
) -> None:
    raise RuntimeError("a worker hands its batches to the gateway, never to a pipeline")


class _WorkerContext(ConnectorContext):
    """A worker's context for one source: what the transport counts (copies skipped, a small
    in-flight window) goes to the gateway's context for the source, on /health and /metrics."""

    def __init__(self, index: int, writer: asyncio.StreamWriter, name: str, log: logging.Logger):
        super().__init__(name, _nowhere, SourceHealth(name, "mqtt"), log)
        self.index, self.writer = index, writer

    def count(self, event: str, n: int = 1) -> None:
        super().count(event, n)
        channel.write(self.writer, ("count", self.index, event, n))


#: how often a worker tells the gateway its queues' numbers (/health, /metrics)
SINK_REPORT_S = 1.0
#: how long a stopping worker waits for its queues to reach InfluxDB (what is left stays on disk)
SINK_FLUSH_S = 3.0


class WorkerSinks:
    """The worker's own InfluxDB sinks: forwarding from their queue files, reporting their
    numbers to the gateway, flushing at stop."""

    def __init__(self, configs: list[dict[str, Any]], writer: asyncio.StreamWriter):
        self.sinks = [InfluxSink(InfluxConfig.model_validate(c)) for c in configs]
        self.writer = writer
        self.closed = False
        self.tasks = [asyncio.create_task(s.run(), name=f"sink {s.name}") for s in self.sinks]
        if self.sinks:
            self.tasks.append(asyncio.create_task(self._report(), name="sink report"))

    def report(self) -> None:
        if self.sinks:
            channel.write(self.writer, ("sinks", {s.name: s.stats() for s in self.sinks}))

    async def _report(self) -> None:
        while True:
            await asyncio.sleep(SINK_REPORT_S)
            self.report()

    async def close(self, *, flush: bool) -> None:
        if self.closed:
            return
        self.closed = True
        deadline = time.monotonic() + (SINK_FLUSH_S if flush else 0.0)
        while time.monotonic() < deadline and any(
            s.stats()["queued_points"] and (s.up or not s.errors) for s in self.sinks
        ):
            await asyncio.sleep(0.05)  # a sink that is down keeps its queue for the next start
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            self.report()
            await self.writer.drain()
        for s in self.sinks:
            with contextlib.suppress(Exception):
                s.close()


async def serve(
    port: int,
    token: bytes,
    index: int,
    sources: list[dict[str, Any]],
    sinks: list[dict[str, Any]] | None = None,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(channel.HELLO.pack(token, index))
    log = logging.getLogger("fieldlab.mqtt")
    own = WorkerSinks(sinks or [], writer)
    forwarders = [
        Forwarder(i, Config.model_validate(s), writer, fetch_retained=index == 0, sinks=own.sinks)
        for i, s in enumerate(sources)
    ]
    contexts = [_WorkerContext(i, writer, f.connector.name, log) for i, f in enumerate(forwarders)]
    running = {
        i: asyncio.create_task(f.connector.transport.run(ctx, f), name=f"worker {index} source {i}")
        for i, (f, ctx) in enumerate(zip(forwarders, contexts, strict=True))
    }
    closing: set[asyncio.Task[None]] = set()

    def crashed(task: asyncio.Task[None]) -> None:
        """A source that stops reading stops the worker: the gateway sees it go, writes its
        machines offline and starts it again (never a worker that silently reads nothing)."""
        if not task.cancelled() and task.exception() is not None:
            log.error("%s crashed; the worker stops", task.get_name(), exc_info=task.exception())
            os._exit(1)

    for task in running.values():
        task.add_done_callback(crashed)

    async def close(i: int) -> None:
        task = running.pop(i, None)
        fetching = forwarders[i].fetching
        if fetching is not None:
            fetching.cancel()
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await forwarders[i].connector.transport.close()
        channel.write(writer, ("closed", i))
        await writer.drain()

    try:
        while True:
            frame = await channel.read(reader)
            if frame[0] == "ack":
                forwarders[frame[1]].acked(frame[2])
            elif frame[0] == "close":
                t = asyncio.create_task(close(frame[1]))
                closing.add(t)
                t.add_done_callback(closing.discard)
            elif frame[0] == "stop":
                await asyncio.gather(*closing, return_exceptions=True)
                await own.close(flush=True)
                return
    except (asyncio.IncompleteReadError, ConnectionError):
        return  # the gateway is gone: stop without acknowledging anything more
    finally:
        for t in running.values():
            t.cancel()
        await asyncio.gather(*running.values(), return_exceptions=True)
        await own.close(flush=False)
        with contextlib.suppress(Exception):
            writer.close()


def main(
    port: int,
    token: bytes,
    index: int,
    sources: list[dict[str, Any]],
    level: int,
    sinks: list[dict[str, Any]] | None = None,
) -> None:
    """The process's entry (multiprocessing, spawn). Ctrl-C, or a service manager's SIGTERM,
    reaches the whole process group: the worker leaves stopping to the gateway, which closes
    it after the last acknowledgements; it stops by itself when the gateway is gone."""
    for sig in ("SIGINT", "SIGTERM"):
        with contextlib.suppress(ValueError, AttributeError, OSError):
            signal.signal(getattr(signal, sig), signal.SIG_IGN)
    watch_parent(grace_s=0.0)
    logging.basicConfig(
        level=level,
        format=f"%(asctime)s %(name)s[worker {index}]: %(message)s",
        stream=sys.stdout,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(port, token, index, sources, sinks))
