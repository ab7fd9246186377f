"""Assembling and running the gateway: store, sinks, pipeline, connectors, liveness, HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path
from typing import Any

from fieldlab.config.redact import redact_url
from fieldlab.config.site import SiteConfig
from fieldlab.connectors import connector_modules
from fieldlab.connectors.base import Connector, ConnectorContext, SourceHealth
from fieldlab.domain.quality import QualityEvent
from fieldlab.domain.rejected import Rejected
from fieldlab.domain.samples import Sample
from fieldlab.errors import port_error
from fieldlab.gateway.alerting import GatewayAlerts
from fieldlab.gateway.batch import Batch
from fieldlab.gateway.clock import ClockWatch
from fieldlab.gateway.config import GatewayConfig
from fieldlab.gateway.contact import ContactGuard
from fieldlab.gateway.http import HttpServer
from fieldlab.gateway.metrics import metrics_text
from fieldlab.gateway.observed import ObservedFile
from fieldlab.gateway.pipeline import Pipeline
from fieldlab.gateway.pool import WorkerPool
from fieldlab.kpi.output import shift_figures
from fieldlab.kpi.query import store_oee
from fieldlab.sinks import sink_modules
from fieldlab.sinks.base import Sink, SinkEnv
from fieldlab.sinks.forward import combined
from fieldlab.sinks.influxdb import InfluxSink
from fieldlab.sinks.sqlite import Config as SqliteSinkConfig
from fieldlab.sinks.sqlite import path_of as sqlite_path
from fieldlab.store import Store, StoreError, open_store
from fieldlab.store.sqlite import SqliteStore

log = logging.getLogger("fieldlab.gateway")


class Gateway:
    def __init__(self, site: SiteConfig, cfg: GatewayConfig, base_dir: Path):
        self.site, self.cfg, self.base_dir = site, cfg, base_dir
        self.data_dir = (base_dir / cfg.gateway.data_dir).resolve()
        self.started = time.time()
        self.health: list[SourceHealth] = []
        self.connectors: list[Connector] = []
        self.contexts: list[ConnectorContext] = []
        self._context: dict[str, ConnectorContext] = {}
        self.sinks: list[Sink] = []
        self.reader: Store | None = None
        skew = site.max_clock_skew_s
        self.contact = ContactGuard(max_skew_ms=None if skew is None else int(skew * 1000))
        self.clock = ClockWatch()
        self.observed = ObservedFile(self.data_dir / "observed.json")
        self.pipeline: Pipeline | None = None
        self.http: HttpServer | None = None
        self.alerts: GatewayAlerts | None = None
        self.workers: WorkerPool | None = None
        self._stop = asyncio.Event()

    def _build(self) -> None:
        n = self.cfg.gateway.worker_count()
        mqtt_sources = [s for s in self.cfg.sources if s.type == "mqtt"]
        workers = n if n > 1 and mqtt_sources else 0
        env = SinkEnv(
            self.site, self.base_dir, self.data_dir, workers, shift_figures=self._shift_figures
        )
        kinds = sink_modules()
        self.sinks = [kinds[c.type].create(c, env) for c in self.cfg.sinks]
        if not any(s.keeps for s in self.sinks):
            # no store named: the site's SQLite file (a UNS alone publishes, it keeps nothing)
            self.sinks.append(kinds["sqlite"].create(SqliteSinkConfig(), env))
        # The gateway closes gaps from the store the dashboard reads, the site's `store:` (a
        # sink writes there: config.py checks it), sharing the SQLite sink's connection.
        sqlite_site = self.site.store.startswith("sqlite:")
        site_db = sqlite_path(SqliteSinkConfig(), self.site, self.base_dir) if sqlite_site else None
        self.reader = next(
            (
                s.store
                for s in self.sinks
                if isinstance(s.store, SqliteStore) and s.store.path == site_db
            ),
            None,
        ) or open_store(self.site.store, base_dir=self.base_dir)
        retention = self.site.retention.process_values_raw_days
        if retention is not None and not any(s.store is not None for s in self.sinks):
            log.warning(
                "retention.process_values_raw_days applies to a SQLite store; InfluxDB keeps "
                "data by its own retention policies (and downsampling tasks)"
            )
        self.pipeline = Pipeline(
            self.sinks,
            queue_batches=self.cfg.gateway.queue_batches,
            max_samples_per_commit=self.cfg.gateway.max_samples_per_commit,
        )
        modules = connector_modules()
        if workers:
            influx = [s for s in self.sinks if isinstance(s, InfluxSink)]
            self.workers = WorkerPool(workers, mqtt_sources, self._emit, influx)
        shared = iter(self.workers.sources if self.workers is not None else [])
        for scfg in self.cfg.sources:
            connector: Connector
            if self.workers is not None and scfg.type == "mqtt":
                connector = next(shared)
            else:
                connector = modules[scfg.type].create(scfg, self.site, self.data_dir)
            health = SourceHealth(scfg.name, scfg.type)
            if not connector.own_clock:
                self.contact.gateway_clocked.add(scfg.name)
            if connector.change_times:
                self.contact.change_times.add(scfg.name)
            self.connectors.append(connector)
            self.health.append(health)
            ctx = ConnectorContext(
                scfg.name, self._receive, health, logging.getLogger(f"fieldlab.{scfg.type}")
            )
            self.contexts.append(ctx)
            self._context[scfg.name] = ctx

        if self.site.alerts.rules or self.site.reports.weekly:
            self.alerts = GatewayAlerts(
                self.site,
                lambda: self.reader,
                list(zip(self.connectors, self.contexts, strict=True)),
                self.cfg.gateway.alert_retry_s,
                self.data_dir,
            )
            self.pipeline.watchers.append(self.alerts.stored)

    async def _receive(
        self, samples: list[Sample], rejected: list[Rejected], /, **meta: Any
    ) -> None:
        """What a connector sent through its context, as a batch (connectors/base.py `Emit`
        names the keywords, gateway/batch.py says what each means)."""
        await self._emit(Batch(samples, rejected, **meta))

    async def _emit(self, batch: Batch) -> None:
        """Every batch of every connector, and every `offline` the gateway writes, passes the
        contact guard on its way to the pipeline (domain.md §3)."""
        assert self.pipeline is not None
        batch = self.contact.stamp(batch)
        clock = self.contact.clocks.get(batch.source)
        if clock is not None:  # a source whose clock is off: its `offline`s on the gateway's too
            ctx = self._context.get(batch.source)
            if ctx is not None:
                ctx.clock.set_off(clock.skewed)
        await self.pipeline.emit(batch)

    def machines(self) -> list[str]:
        seen: list[str] = []
        for c in self.connectors:
            seen += [m for m in c.machines if m not in seen]
        return seen

    def _close_gaps(self) -> list[Sample]:
        """At start: a machine whose last state is not `offline` has been unobserved since it
        was last observed; close that gap with `offline` (domain.md §3). That is the newest of
        its last sample in the store, in a sink's queue (an InfluxDB outage during a crash) and
        in the observed file (a machine that held its values while the gateway watched).
        Every machine's newest `offline`, written now or before, is noted in the contact
        guard, so values read when contact returns land after it."""
        newest: dict[str, tuple[int, int | None, str | None]] = {}

        def merge(m: str, ts: int, state_ts: int | None, state: str | None) -> None:
            old_ts, old_state_ts, old_state = newest.get(m, (ts, None, None))
            if state_ts is None or (old_state_ts is not None and old_state_ts > state_ts):
                state_ts, state = old_state_ts, old_state
            newest[m] = (max(ts, old_ts), state_ts, state)

        assert self.reader is not None
        try:
            latest = self.reader.latest()
            self.contact.seed(latest)  # each series runs forward from its newest (§9)
            for s in latest:
                if s.signal == "state":
                    merge(s.machine, s.ts, s.ts, str(s.value))
                else:
                    merge(s.machine, s.ts, None, None)
        except StoreError as exc:
            log.warning("cannot read the store to close gaps: %s", exc)
        for sink in self.sinks:
            for m, (ts, state_ts, state) in sink.newest().items():
                merge(m, ts, state_ts, state)
        observed = self.observed.read()
        for m, ts in observed.items():
            merge(m, ts, None, None)
        out = []
        # the machines of the config, and those learned from a source (an MQTT topic) that
        # the gateway answered for before: the observed file remembers them
        for m in dict.fromkeys([*self.machines(), *observed]):
            ts, state_ts, state = newest.get(m, (0, None, None))
            if state_ts is None:
                continue  # never a state: unknown, which counts as offline already
            if state == "offline":
                self.contact.offline([Sample(state_ts, m, "state", "offline")])
            else:
                out.append(Sample(ts + 1, m, "state", "offline"))
        self.contact.offline(out)
        return out

    async def run(self) -> None:
        # /health's port first: taken, it is one line and exit 2 before anything has started
        # that would have to be stopped (a connector still connecting held the process)
        http_cfg = self.cfg.gateway.http
        if http_cfg.port:
            self.http = HttpServer(
                http_cfg.host, http_cfg.port, self.health_report, self.metrics_text
            )
            try:
                await self.http.start()
            except OSError as exc:
                self.http = None
                raise port_error(
                    exc,
                    "gateway /health and /metrics",
                    http_cfg.host,
                    http_cfg.port,
                    "gateway: {http: {port: N}} in the site file (0: none)",
                ) from None
            log.warning(
                "health on http://%s:%d/health, metrics on /metrics", http_cfg.host, self.http.port
            )
        self._build()
        assert self.pipeline is not None and self.reader is not None
        gaps = await asyncio.to_thread(self._close_gaps)
        if self.alerts is not None:  # channel libraries loaded before ingest, not during it
            await asyncio.to_thread(self.alerts.notifier.prepare)
        if gaps:
            await asyncio.to_thread(self.pipeline.commit, gaps, [])
        if self.workers is not None:
            await self.workers.start()
        tasks = [asyncio.create_task(self.pipeline.run(), name="pipeline")]
        tasks.append(asyncio.create_task(self._note_observed(), name="observed"))
        tasks.append(asyncio.create_task(self._watch_clock(), name="clock"))
        if self.alerts is not None:
            tasks.append(asyncio.create_task(self.alerts.run(), name="alerts"))
        tasks += [asyncio.create_task(s.run(), name=f"sink {s.name}") for s in self.sinks]
        conn_tasks = [
            asyncio.create_task(self._supervise(c, ctx), name=f"source {c.name}")
            for c, ctx in zip(self.connectors, self.contexts, strict=True)
        ]
        try:
            await self._stop.wait()
        finally:
            await _cancel(conn_tasks)
            for ctx in self.contexts:
                await ctx.flush_rejected()
            await self._keep_quality([], int(time.time() * 1000))
            # A state never runs on beyond what was observed: offline as the gateway stops.
            offline = [
                Sample(ctx.clock.now(), m, "state", "offline")
                for c, ctx in zip(self.connectors, self.contexts, strict=True)
                if ctx.clock.last_ts is not None
                for m in c.machines
                if m not in ctx.health.machines_offline
            ]
            if offline:
                await self._emit(Batch(offline, source="gateway", gateway=True))
                seen = self.observed.read()  # so the next start knows these machines
                for gone in offline:
                    seen[gone.machine] = max(gone.ts, seen.get(gone.machine, gone.ts))
                await asyncio.to_thread(self.observed.write, seen)
            await self.pipeline.drain()
            if self.alerts is not None:
                self.alerts.tick()
                await self.alerts.stop()
            # Sources that acknowledge after commit (MQTT) send their last acks now, then
            # disconnect; otherwise the broker would send those messages again next time.
            for c in self.connectors:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(c.close(), 5)
            if self.workers is not None:
                await self.workers.stop()
            await self._flush_sinks(5.0)
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if self.http is not None:
                await self.http.stop()
            for s in self.sinks:
                with contextlib.suppress(Exception):
                    s.close()
            with contextlib.suppress(Exception):
                self.reader.close()

    async def _watch_clock(self, every_s: float = 0.25) -> None:
        """domain.md §9: a step of the gateway's clock is a gap for the machines it stamps; values
        held back while the clock was behind are written once it has passed them; a source
        clock's skew, as the contact guard found it, is kept as a data-quality record."""
        assert self.pipeline is not None
        gateway_clocked = [
            m
            for c, ctx in zip(self.connectors, self.contexts, strict=True)
            if ctx.name in self.contact.gateway_clocked
            for m in c.machines
        ]
        while True:
            await asyncio.sleep(every_s)
            now = int(time.time() * 1000)
            events: list[QualityEvent] = []
            step = self.clock.check()
            if step is not None:
                log.warning(
                    "the gateway's clock stepped %s by %.1f s: %s",
                    "forward" if step > 0 else "back",
                    abs(step),
                    "the skipped time is a gap"
                    if step > 0
                    else "machines it stamps read offline until the clock passes the time "
                    "already written",
                )
                events.append(QualityEvent(now, "gateway", "clock_step", round(step, 3)))
                offline, values = self.contact.gap(gateway_clocked, now)
                if offline:
                    await self.pipeline.emit(Batch(offline, source="gateway", gateway=True))
                if values:
                    await self.pipeline.emit(Batch(values, source="gateway", keeps_time=True))
            released = self.contact.release(now)
            if released:
                await self.pipeline.emit(Batch(released, source="gateway", keeps_time=True))
            await self._keep_quality(events, now)

    async def _keep_quality(self, events: list[QualityEvent], now: int) -> None:
        """Clock steps, and the skews the contact guard found, into the store."""
        changes, self.contact.skew_changes = self.contact.skew_changes, []
        events = events + [
            QualityEvent(now, source, "clock_skew" if off else "clock_agrees", offset / 1000)
            for source, off, offset in changes
        ]
        if events and self.reader is not None:
            try:
                await asyncio.to_thread(self.reader.write_quality, events)
            except Exception as exc:  # noqa: BLE001 - /health and /metrics still count it
                log.error("cannot keep the clock's data-quality records: %s", exc)

    async def _note_observed(self, every_s: float = 5.0) -> None:
        """Write, per machine in contact, the source's time now (observed.py says why)."""
        while True:
            await asyncio.sleep(every_s)
            seen = self.observed.read()
            for c, ctx in zip(self.connectors, self.contexts, strict=True):
                if ctx.health.state != "connected" or ctx.clock.last_ts is None:
                    continue
                now = ctx.clock.now()
                for m in c.machines:
                    if m not in ctx.health.machines_offline:
                        seen[m] = max(now, seen.get(m, now))
            await asyncio.to_thread(self.observed.write, seen)

    def _shift_figures(self) -> list[tuple[str, dict[str, Any]]]:
        """The current shift's figures of every machine whose source has a clock now, from
        the store as the dashboard reads it (the UNS publishes them: sinks/uns.py)."""
        cal = self.site.shift_calendar()
        reader = self.reader
        out: list[tuple[str, dict[str, Any]]] = []
        if reader is None:
            return out
        for c, ctx in zip(self.connectors, self.contexts, strict=True):
            if ctx.clock.last_ts is None:
                continue
            now = ctx.clock.now()
            shifts = cal.shifts(now - 1, now)
            start = shifts[0].start if shifts else now - 86_400_000
            name = shifts[0].name if shifts else ""
            for m in c.machines:
                try:
                    r = store_oee(reader, self.site, m, start, now, now=now)
                except StoreError:
                    continue
                out.append((m, shift_figures(r, name, now)))
        return out

    async def _flush_sinks(self, timeout: float) -> None:
        """Wait for the queues to reach their servers, but not for a server that is away (its
        queue stays on disk for the next start)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(
                not st.get("queued_points", 0) or (not st.get("up", 1.0) and st.get("errors", 0))
                for st in (s.stats() for s in self.sinks)
            ):
                return
            await asyncio.sleep(0.1)

    async def _supervise(self, connector: Connector, ctx: ConnectorContext) -> None:
        """A connector that crashes is restarted: the gateway never silently stops reading."""
        while True:
            try:
                await connector.run(ctx)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                ctx.error(f"{type(exc).__name__}: {exc}")
                log.exception("%s crashed; restarting in 1 s", ctx.name)
                with contextlib.suppress(Exception):
                    await ctx.lost(list(connector.machines), "connector crashed")
                await asyncio.sleep(1.0)

    def request_stop(self) -> None:
        self._stop.set()

    # -- reports ---------------------------------------------------------------------------------

    def health_report(self) -> dict[str, Any]:
        now = time.time()
        sources = [
            {
                "name": h.name,
                "type": h.type,
                "state": h.state,
                "samples": h.samples,
                "rejected": h.rejected,
                "rejected_repeats": h.rejected_repeats,
                "errors": h.errors,
                "reconnects": h.reconnects,
                "last_error": h.last_error,
                "last_sample_age_s": None
                if h.last_sample_wall is None
                else round(now - h.last_sample_wall, 3),
                "machines_offline": sorted(h.machines_offline),
                "events": dict(sorted(h.events.items())),
                "clock": self._source_clock(h.name),
            }
            for h in self.health
        ]
        sinks = [{"name": name, **stats} for name, stats in self.sink_stats()]
        ok = all(s["state"] == "connected" for s in sources) and all(
            s.get("up", 1.0) for s in sinks
        )
        p = self.pipeline
        return (
            {
                "status": "ok" if ok else "degraded",
                "uptime_s": round(now - self.started, 1),
                "sources": sources,
                "clock": {  # the gateway's own (domain.md §9)
                    "steps_forward": self.clock.forward,
                    "steps_backward": self.clock.backward,
                    "last_step_s": self.clock.last_step_s,
                },
                "sinks": sinks,
                "pipeline": {
                    "queued_batches": p.queue.qsize() if p else 0,
                    "samples": p.stats.samples if p else 0,
                    "rejected": p.stats.rejected if p else 0,
                },
                "endpoints": [redact_url(c.url) for c in self.connectors],
            }
            | ({"alerts": self.alerts.report()} if self.alerts is not None else {})
            | ({"workers": self.workers.report()} if self.workers is not None else {})
        )

    def _source_clock(self, name: str) -> dict[str, Any]:
        """Whose clock stamps the source's values, how far off it was at contact, and how
        many values came not after their series' newest (domain.md §9)."""
        c = self.contact.clocks.get(name)
        own = name not in self.contact.gateway_clocked
        return {
            "stamped_by": ("gateway" if c is not None and c.skewed else "source")
            if own
            else "gateway",
            "offset_s": None if c is None or c.offset_ms is None else c.offset_ms / 1000,
            "skewed": bool(c is not None and c.skewed),
            "behind": 0 if c is None else c.behind,
        }

    def sink_stats(self) -> list[tuple[str, dict[str, float]]]:
        """Each sink's numbers; a sink the workers also feed adds up their queues."""
        out = []
        for s in self.sinks:
            stats = s.stats()
            if self.workers is not None and s.name in self.workers.queued:
                stats = combined([stats, *self.workers.sink_stats(s.name)])
            out.append((s.name, stats))
        return out

    def metrics_text(self) -> str:
        return metrics_text(self)


async def _cancel(tasks: list[asyncio.Task[None]], rounds: int = 5) -> None:
    """Cancel and wait, cancelling again if a library swallowed the first cancellation (a
    client library that retries its request on CancelledError would otherwise hold the
    shutdown forever)."""
    pending = {t for t in tasks if not t.done()}
    for _ in range(rounds):
        if not pending:
            return
        for t in pending:
            t.cancel()
        _, pending = await asyncio.wait(pending, timeout=2)
    if pending:
        log.error("%d connector task(s) would not stop; leaving them", len(pending))
