"""Sparkplug B host (paho-mqtt for the transport, `payload.py` for the protobuf payloads).

The sample config is `sample.yaml` beside this file; README.md says which parts of Sparkplug 3.0
are covered. The host keeps, per edge node, the bdSeq of its NBIRTH, the last seq and the
aliases of the node's and its devices' births. A DATA before any BIRTH or a seq that skips is
counted, logged and (only with `rebirth: true`) answered with a Rebirth NCMD: the one message
this gateway ever writes to a device, besides its own STATE.
"""

from __future__ import annotations

import asyncio
import collections
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import BaseModel, ConfigDict, Field, field_validator

from fieldlab.config.site import SiteConfig
from fieldlab.connectors.base import Batch, ConnectorContext
from fieldlab.connectors.sparkplug.payload import Metric, encode, metrics_of, parse, value_of
from fieldlab.domain.rejected import Rejected
from fieldlab.domain.samples import Sample, SampleError
from fieldlab.mapping import Mapper, SignalMap, plain

TYPE = "sparkplug"
DOMAIN_SIGNALS = frozenset(
    {"state", "reason", "product", "count_total", "count_good", "count_scrap"}
)
NS = "spBv1.0"


class MetricMap(SignalMap):
    metric: str = Field(description="the Sparkplug metric name, e.g. Status/State")


class MachineConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    device: str = Field(description="group/edge_node/device, or group/edge_node for the node")
    metrics: dict[str, MetricMap] = Field(min_length=1)

    @field_validator("device")
    @classmethod
    def _parts(cls, v: str) -> str:
        if not 2 <= len(v.split("/")) <= 3 or "" in v.split("/"):
            raise ValueError('write "group/edge_node/device" (or "group/edge_node")')
        return v


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["sparkplug"]
    name: str = "sparkplug"
    url: str = "mqtt://127.0.0.1:1883"
    client_id: str = "fieldlab-sparkplug-host"
    username_env: str | None = None
    password_env: str | None = None
    groups: list[str] = Field(default_factory=lambda: ["+"], description="group ids to follow")
    host_id: str | None = Field(
        None, description="publish STATE as this primary host (edge nodes hold data while away)"
    )
    rebirth: bool = Field(False, description="ask an edge node to rebirth after a gap (NCMD)")
    persistent_session: bool = Field(
        False,
        description="Sparkplug 3.0 asks a host for a clean session; true keeps messages queued "
        "at the broker while the host is away (a site whose edge nodes ignore STATE)",
    )
    machines: dict[str, MachineConfig] = Field(min_length=1)


def create(cfg: Config, site: SiteConfig, data_dir: Path) -> SparkplugHost:
    return SparkplugHost(cfg)


@dataclass
class _Node:
    bd_seq: int | None = None
    seq: int | None = None
    born: bool = False
    last_ts: int = 0  # the newest time it said anything: a death is never before it
    aliases: dict[tuple[str, int], str] = field(default_factory=dict)  # (device, alias) → name


class SparkplugHost:
    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.name, self.url = cfg.name, cfg.url
        self.machines = list(cfg.machines)
        self._by_device = {mc.device: (m, mc) for m, mc in cfg.machines.items()}
        #: per machine: metric name → (signal, its map)
        self._by_metric = {
            m: {mm.metric: (signal, plain(mm)) for signal, mm in mc.metrics.items()}
            for m, mc in cfg.machines.items()
        }
        self._mapper = Mapper()
        self.nodes: dict[tuple[str, str], _Node] = {}
        self.counts = collections.Counter[str]()
        self._client: mqtt.Client | None = None
        self._messages: collections.deque[tuple[str, bytes]] = collections.deque()
        self._wake_pending = False

    # -- the transport -----------------------------------------------------------------------

    def _make_client(self, loop: asyncio.AbstractEventLoop, inbox: asyncio.Queue) -> mqtt.Client:
        import os

        c = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.cfg.client_id,
            clean_session=not self.cfg.persistent_session,
        )
        user = os.environ.get(self.cfg.username_env) if self.cfg.username_env else None
        if user:
            c.username_pw_set(user, os.environ.get(self.cfg.password_env or "", ""))
        if self.cfg.host_id:
            c.will_set(self._state_topic(), self._state(False), qos=1, retain=True)

        def on_connect(cl: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
            if rc.is_failure:
                loop.call_soon_threadsafe(inbox.put_nowait, ("refused", str(rc)))
                return
            for g in self.cfg.groups:
                cl.subscribe(f"{NS}/{g}/#", qos=1)
            if self.cfg.host_id:
                cl.publish(self._state_topic(), self._state(True), qos=1, retain=True)
            loop.call_soon_threadsafe(inbox.put_nowait, ("connected", None))

        def on_disconnect(_c: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
            loop.call_soon_threadsafe(inbox.put_nowait, ("disconnected", str(rc)))

        messages = self._messages

        def on_message(_c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
            # a deque append, and one wake-up per burst (not per message)
            messages.append((msg.topic, bytes(msg.payload)))
            if not self._wake_pending:
                self._wake_pending = True
                loop.call_soon_threadsafe(inbox.put_nowait, ("messages", None))

        c.on_connect, c.on_disconnect, c.on_message = on_connect, on_disconnect, on_message
        return c

    def _state_topic(self) -> str:
        return f"{NS}/STATE/{self.cfg.host_id}"

    def _state(self, online: bool) -> str:
        return json.dumps({"online": online, "timestamp": int(time.time() * 1000)})

    async def run(self, ctx: ConnectorContext) -> None:
        loop = asyncio.get_running_loop()
        inbox: asyncio.Queue = asyncio.Queue()
        u = urlparse(self.cfg.url)
        client = self._make_client(loop, inbox)
        client.reconnect_delay_set(ctx.backoff.first, ctx.backoff.cap)  # type: ignore[arg-type]
        client.connect_async(u.hostname or "127.0.0.1", u.port or 1883, keepalive=15)
        client.loop_start()
        self._client = client
        try:
            while True:
                kind, data = await inbox.get()
                if kind == "connected":
                    ctx.back(self.machines, source_up=True)
                elif kind in ("disconnected", "refused"):
                    self.nodes.clear()  # births seen before are not trusted after a gap
                    await ctx.failed(self.machines, f"{kind}: {data}")
                else:
                    await self._drain(ctx)
        finally:
            client.loop_stop()

    async def _drain(self, ctx: ConnectorContext, most: int = 5000) -> None:
        """Everything that arrived, in order, as one batch per up to `most` messages."""
        self._wake_pending = False
        while self._messages:
            samples: list[Sample] = []
            rejected: list[Rejected] = []
            for _ in range(min(most, len(self._messages))):
                topic, payload = self._messages.popleft()
                s, r = self.handle(topic, payload, ctx)
                samples += s
                rejected += r
            await ctx.send(Batch(samples, rejected, source=self.name, keeps_time=True))

    async def close(self) -> None:
        client = self._client
        if client is not None:
            if self.cfg.host_id:
                client.publish(self._state_topic(), self._state(False), qos=1, retain=True)
            client.disconnect()

    # -- Sparkplug ---------------------------------------------------------------------------

    def _rebirth(self, group: str, node: str, ctx: ConnectorContext, why: str) -> None:
        self.counts[why] += 1
        ctx.error(f"{group}/{node}: {why}")
        if self.cfg.rebirth and self._client is not None:
            self.counts["rebirth_requests"] += 1
            payload = encode(
                [("Node Control/Rebirth", None, 11, True)], timestamp=int(time.time() * 1000)
            )
            self._client.publish(f"{NS}/{group}/NCMD/{node}", payload, qos=0)

    def handle(
        self, topic: str, payload: bytes, ctx: ConnectorContext
    ) -> tuple[list[Sample], list[Rejected]]:
        """One Sparkplug message: births define aliases, data carries values, deaths write
        `offline` at their own time."""
        parts = topic.split("/")
        if len(parts) < 4 or parts[0] != NS or parts[1] == "STATE":
            return [], []
        group, kind, node = parts[1], parts[2], parts[3]
        device = parts[4] if len(parts) > 4 else ""
        if kind in ("NCMD", "DCMD"):
            return [], []
        try:
            p = parse(payload)
        except ValueError as exc:
            self.counts["bad_payloads"] += 1
            return [], [Rejected(f"sparkplug:{self.name}:{topic}", payload[:200].hex(), str(exc))]
        ts = p.timestamp if p.HasField("timestamp") else None
        seq = p.seq if p.HasField("seq") else None
        now = ts or int(time.time() * 1000)
        state = self.nodes.setdefault((group, node), _Node())
        if kind in ("NDATA", "DDATA") and state.born:  # the hot path: no Metric objects
            self._check_seq(group, node, state, seq, ctx)
            where = f"{group}/{node}/{device}" if device else f"{group}/{node}"
            if where not in self._by_device or any(m.is_historical for m in p.metrics):
                return self._slow(kind, where, device, metrics_of(p), state, now, ctx)
            return self._data(self._by_device[where][0], device, p, state, now, ctx)
        metrics = metrics_of(p)
        if kind == "NBIRTH":
            bd = next((m.value for m in metrics if m.name == "bdSeq"), None)
            self.nodes[(group, node)] = state = _Node(
                int(bd) if bd is not None else None, seq, True
            )
        elif kind == "NDEATH":
            bd = next((m.value for m in metrics if m.name == "bdSeq"), None)
            if state.bd_seq is not None and bd is not None and int(bd) != state.bd_seq:
                self.counts["stale_deaths"] += 1  # the will of an older session: not this one
                return [], []
            state.born = False
            # a will carries the time its session began, if any: the node was seen after that
            dead = self._offline(f"{group}/{node}", max(now, state.last_ts), whole_node=True)
            ctx.gone([s.machine for s in dead])
            return dead, []
        elif not state.born:
            self._rebirth(group, node, ctx, "data_before_birth")
            return [], []
        else:
            self._check_seq(group, node, state, seq, ctx)
        where = f"{group}/{node}/{device}" if device else f"{group}/{node}"
        return self._slow(kind, where, device, metrics, state, now, ctx)

    def _check_seq(
        self, group: str, node: str, state: _Node, seq: int | None, ctx: ConnectorContext
    ) -> None:
        if seq is not None and state.seq is not None and seq != (state.seq + 1) % 256:
            self._rebirth(group, node, ctx, "seq_gaps")
        state.seq = seq if seq is not None else state.seq

    def _data(
        self, machine: str, device: str, p: Any, state: _Node, now: int, ctx: ConnectorContext
    ) -> tuple[list[Sample], list[Rejected]]:
        """NDATA/DDATA of a known machine without historical metrics: straight from the
        protobuf message to samples; a plain process value skips the mapper."""
        by_metric, aliases = self._by_metric[machine], state.aliases
        samples: list[Sample] = []
        rejected: list[Rejected] = []
        newest = now
        for m in p.metrics:
            name = m.name or (aliases.get((device, m.alias)) if m.HasField("alias") else None)
            if name is None:
                self.counts["unknown_aliases"] += 1
                continue
            found = by_metric.get(name)
            if found is None or m.is_null:
                continue
            signal, spec = found
            ts = m.timestamp or now
            newest = ts if ts > newest else newest
            value = value_of(m)
            plain_number = type(value) is float and signal not in DOMAIN_SIGNALS
            if spec is None and plain_number and math.isfinite(value):  # type: ignore[arg-type]
                samples.append(Sample(ts, machine, signal, value))  # type: ignore[arg-type]
                continue
            if value is None:
                continue
            try:
                samples += self._mapper.apply(machine, signal, value, ts, spec)
            except (SampleError, ValueError) as exc:
                rejected.append(Rejected(f"sparkplug:{self.name}:{name}", repr(value), str(exc)))
        state.last_ts = max(state.last_ts, newest)
        ctx.clock.observe(newest)
        return samples, rejected

    def _slow(
        self,
        kind: str,
        where: str,
        device: str,
        metrics: list[Metric],
        state: _Node,
        now: int,
        ctx: ConnectorContext,
    ) -> tuple[list[Sample], list[Rejected]]:
        """Births, deaths of devices, historical data: through Metric objects."""
        state.last_ts = max([state.last_ts, now, *(m.timestamp or 0 for m in metrics)])
        if kind == "DDEATH":
            dead = self._offline(where, now)
            ctx.gone([s.machine for s in dead])
            return dead, []
        if kind in ("NBIRTH", "DBIRTH"):
            for m in metrics:
                if m.alias is not None and m.name is not None:
                    state.aliases[(device, m.alias)] = m.name
        if where not in self._by_device:
            return [], []
        machine, mc = self._by_device[where]
        if kind in ("NBIRTH", "DBIRTH"):
            self._mapper.forget(machine)
            ctx.back([machine], source_up=False)
        return self._values(machine, mc, device, metrics, state, now, ctx)

    def _offline(self, where: str, ts: int, whole_node: bool = False) -> list[Sample]:
        gone = [
            m
            for dev, (m, _) in self._by_device.items()
            if dev == where or (whole_node and dev.startswith(where + "/"))
        ]
        for m in gone:
            self._mapper.forget(m)
        return [Sample(ts, m, "state", "offline") for m in gone]

    def _values(
        self,
        machine: str,
        mc: MachineConfig,
        device: str,
        metrics: list[Metric],
        state: _Node,
        now: int,
        ctx: ConnectorContext,
    ) -> tuple[list[Sample], list[Rejected]]:
        by_metric = self._by_metric[machine]
        samples: list[Sample] = []
        rejected: list[Rejected] = []
        if any(m.historical for m in metrics):  # stored in their own order
            metrics = sorted(metrics, key=lambda m: m.timestamp or now)
        newest = max((m.timestamp or now for m in metrics), default=now)
        ctx.clock.observe(newest)
        aliases = state.aliases
        for m in metrics:
            name = m.name or aliases.get((device, m.alias or -1))
            if name is None:
                self.counts["unknown_aliases"] += 1
                continue
            if name not in by_metric or m.value is None:
                continue
            signal, spec = by_metric[name]
            ts = m.timestamp or now
            try:
                samples += self._mapper.apply(machine, signal, m.value, ts, spec)
            except (SampleError, ValueError) as exc:
                rejected.append(Rejected(f"sparkplug:{self.name}:{name}", repr(m.value), str(exc)))
        return samples, rejected
