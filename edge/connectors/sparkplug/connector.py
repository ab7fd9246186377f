"""Sparkplug B host: a payload decoder on the MQTT transport (`connectors/mqtt/transport.py`),
`payload.py` for the protobuf payloads.

The sample config is `sample.yaml` beside this file; README.md says which parts of Sparkplug 3.0
are covered. The host keeps, per edge node, the bdSeq of its NBIRTH, the last seq and the
aliases of the node's and its devices' births. A DATA before any BIRTH or a seq that skips is
counted, logged and (only with `rebirth: true`) answered with a Rebirth NCMD: the one message
this gateway ever writes to a device, besides its own STATE.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from fieldlab.config.site import SiteConfig
from fieldlab.connectors.base import ConnectorContext
from fieldlab.connectors.mqtt.config import BrokerConfig
from fieldlab.connectors.mqtt.transport import Message, Session, Transport, Will
from fieldlab.connectors.sparkplug.payload import (
    SIGNED_BITS,
    Metric,
    encode,
    metrics_of,
    parse,
)
from fieldlab.domain.rejected import Rejected
from fieldlab.domain.samples import Sample, SampleError
from fieldlab.mapping import Mapper, SignalMap, plain

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


class Config(BrokerConfig):
    type: Literal["sparkplug"]
    name: str = "sparkplug"
    client_id: str = "fieldlab-sparkplug-host"
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
    flush_ms: int = Field(20, ge=1, description="how long messages gather into one batch")
    machines: dict[str, MachineConfig] = Field(min_length=1)


def create(cfg: Config, site: SiteConfig, data_dir: Path) -> SparkplugHost:
    return SparkplugHost(cfg)


#: a metric's way to a sample: (signal, its map or None when it changes nothing, plain: a
#: number that may skip the mapper, bits of a signed integer carried in an unsigned field)
Route = tuple[str, SignalMap | None, bool, int]


@dataclass
class _Node:
    bd_seq: int | None = None
    seq: int | None = None
    born: bool = False
    last_ts: int = 0  # the newest time it said anything: a death is never before it
    aliases: dict[tuple[str, int], str] = field(default_factory=dict)  # (device, alias) → name
    #: per device of a configured machine: alias → its route (None: a metric not mapped)
    routes: dict[str, dict[int, Route | None]] = field(default_factory=dict)


class SparkplugHost:
    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.name, self.url = cfg.name, cfg.url
        self.machines = list(cfg.machines)
        self.own_clock = True  # metric and payload timestamps
        self.change_times = True  # a birth's metric times: when each value was last set
        self._by_device = {mc.device: (m, mc) for m, mc in cfg.machines.items()}
        #: per machine: metric name → (signal, its map)
        self._by_metric = {
            m: {mm.metric: (signal, plain(mm)) for signal, mm in mc.metrics.items()}
            for m, mc in cfg.machines.items()
        }
        self._mapper = Mapper()
        self.nodes: dict[tuple[str, str], _Node] = {}
        self.transport = Transport(
            cfg.name,
            cfg,
            Session(
                [f"{NS}/{g}/#" for g in cfg.groups],
                persistent=cfg.persistent_session,
                protocol="3.1.1",
                flush_ms=cfg.flush_ms,
                will=(lambda: self._state(False)) if cfg.host_id else None,
                greeting=lambda: [self._state(True)] if cfg.host_id else [],
            ),
        )

    def _state(self, online: bool) -> Will:
        """The primary host's STATE (Sparkplug 3.0: JSON, retained, QoS 1)."""
        payload = json.dumps({"online": online, "timestamp": int(time.time() * 1000)})
        return Will(f"{NS}/STATE/{self.cfg.host_id}", payload, qos=1, retain=True)

    # -- the transport calls these ---------------------------------------------------------------

    async def run(self, ctx: ConnectorContext) -> None:
        await self.transport.run(ctx, self)

    async def close(self) -> None:
        await self.transport.close([self._state(False)] if self.cfg.host_id else None)

    async def connected(self, ctx: ConnectorContext, session_present: bool) -> None:
        ctx.back(self.machines, source_up=True)

    async def lost(
        self, ctx: ConnectorContext, kind: Literal["unreachable", "refused", "gone"], why: str
    ) -> None:
        self.nodes.clear()  # births seen before are not trusted after a gap
        if kind == "gone":
            await ctx.failed(self.machines, why)
        else:
            ctx.error(why)
            await ctx.lost(self.machines, why)

    async def received(
        self, ctx: ConnectorContext, messages: list[Message], ack: Callable[[], None]
    ) -> None:
        # Data keeps its time (in order, replayed or live). A birth states the values as they
        # stand, each with the time it was last set: after a gap, one older than the gap held
        # through it (domain.md §3), so births go through the gateway's contact rules.
        runs: list[tuple[bool, list[Sample], list[Rejected]]] = []
        for msg in messages:
            birth = msg.topic.split("/", 3)[2:3] in (["NBIRTH"], ["DBIRTH"])
            s, r = self.handle(msg.topic, bytes(msg.payload), ctx)
            if not runs or runs[-1][0] != birth:
                runs.append((birth, [], []))
            runs[-1][1].extend(s)
            runs[-1][2].extend(r)
        for i, (birth, samples, rejected) in enumerate(runs or [(False, [], [])]):
            last = i >= len(runs) - 1
            await ctx.send(samples, rejected, on_commit=ack if last else None, keeps_time=not birth)

    # -- Sparkplug ---------------------------------------------------------------------------

    def _rebirth(self, group: str, node: str, ctx: ConnectorContext, why: str) -> None:
        ctx.count(why)
        ctx.error(f"{group}/{node}: {why}")
        if self.cfg.rebirth:
            ctx.count("rebirth_requests")
            payload = encode(
                [("Node Control/Rebirth", None, 11, True)], timestamp=int(time.time() * 1000)
            )
            self.transport.publish(f"{NS}/{group}/NCMD/{node}", payload, qos=0)

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
            ctx.count("bad_payloads")
            return [], [Rejected(f"sparkplug:{self.name}:{topic}", payload[:200].hex(), str(exc))]
        ts = p.timestamp if p.HasField("timestamp") else None
        seq = p.seq if p.HasField("seq") else None
        now = ts or int(time.time() * 1000)
        state = self.nodes.setdefault((group, node), _Node())
        if kind in ("NDATA", "DDATA") and state.born:
            self._check_seq(group, node, state, seq, ctx)
            routes = state.routes.get(device)
            if routes is not None:  # the hot path: no Metric objects
                machine = self._by_device[_where(group, node, device)][0]
                fast = self._data(machine, p, routes, now, ctx)
                if fast is not None:
                    samples, rejected, newest = fast
                    state.last_ts = max(state.last_ts, newest)
                    ctx.clock.observe(newest)
                    return samples, rejected
            return self._slow(kind, group, node, device, metrics_of(p), state, now, ctx)
        metrics = metrics_of(p)
        if kind == "NBIRTH":
            bd = next((m.value for m in metrics if m.name == "bdSeq"), None)
            self.nodes[(group, node)] = state = _Node(
                int(bd) if bd is not None else None, seq, True
            )
        elif kind == "NDEATH":
            bd = next((m.value for m in metrics if m.name == "bdSeq"), None)
            if state.bd_seq is not None and bd is not None and int(bd) != state.bd_seq:
                ctx.count("stale_deaths")  # the will of an older session: not this one
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
        return self._slow(kind, group, node, device, metrics, state, now, ctx)

    def _check_seq(
        self, group: str, node: str, state: _Node, seq: int | None, ctx: ConnectorContext
    ) -> None:
        if seq is not None and state.seq is not None and seq != (state.seq + 1) % 256:
            self._rebirth(group, node, ctx, "seq_gaps")
        state.seq = seq if seq is not None else state.seq

    def _data(
        self, machine: str, p: Any, routes: dict[int, Route | None], now: int, ctx: ConnectorContext
    ) -> tuple[list[Sample], list[Rejected], int] | None:
        """NDATA/DDATA of a known machine by alias, straight from the protobuf message (the
        routes were resolved at its birth); a plain process value skips the mapper. None for a
        message this path does not take (historical metrics, names instead of aliases)."""
        samples: list[Sample] = []
        mapped: list[tuple[str, SignalMap | None, Any, int]] = []  # after the loop: the
        newest = now  # mapper keeps state, and this path may still give the message up
        isfinite = math.isfinite
        for m in p.metrics:
            if m.is_historical or m.name:
                return None
            route = routes.get(m.alias, _MISSING)
            if route is None:
                continue  # a metric no signal wants
            if route is _MISSING:
                ctx.count("unknown_aliases")
                continue
            signal, spec, plain_number, bits = route
            if m.is_null:
                continue
            which = m.WhichOneof("value")
            if which is None or which == "bytes_value":
                continue
            value = getattr(m, which)
            ts = m.timestamp or now
            if ts > newest:
                newest = ts
            if plain_number and type(value) is float and isfinite(value):
                samples.append(Sample(ts, machine, signal, value))
                continue
            if bits and value >= 1 << (bits - 1):  # two's complement in an unsigned field
                value -= 1 << (32 if which == "int_value" else 64)
            mapped.append((signal, spec, value, ts))
        rejected: list[Rejected] = []
        for signal, spec, value, ts in mapped:
            try:
                samples += self._mapper.apply(machine, signal, value, ts, spec)
            except (SampleError, ValueError) as exc:
                name = self.cfg.machines[machine].metrics[signal].metric
                rejected.append(Rejected(f"sparkplug:{self.name}:{name}", repr(value), str(exc)))
        return samples, rejected, newest

    def _slow(
        self,
        kind: str,
        group: str,
        node: str,
        device: str,
        metrics: list[Metric],
        state: _Node,
        now: int,
        ctx: ConnectorContext,
    ) -> tuple[list[Sample], list[Rejected]]:
        """Births, deaths of devices, historical data: through Metric objects."""
        where = _where(group, node, device)
        state.last_ts = max([state.last_ts, now, *(m.timestamp or 0 for m in metrics)])
        if kind == "DDEATH":
            state.routes.pop(device, None)
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
            state.routes[device] = self._routes(machine, device, metrics)
            ctx.back([machine], source_up=False)
        return self._values(machine, mc, device, metrics, state, now, ctx)

    def _routes(self, machine: str, device: str, births: list[Metric]) -> dict[int, Route | None]:
        """alias → route for the metrics a birth declares (None for those no signal wants)."""
        by_metric = self._by_metric[machine]
        routes: dict[int, Route | None] = {}
        for m in births:
            if m.alias is None or m.name is None:
                continue
            found = by_metric.get(m.name)
            if found is None:
                routes[m.alias] = None
                continue
            signal, spec = found
            bits = SIGNED_BITS.get(m.datatype or 0, 0)
            routes[m.alias] = (signal, spec, spec is None and signal not in DOMAIN_SIGNALS, bits)
        return routes

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
                ctx.count("unknown_aliases")
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


_MISSING: Any = object()


def _where(group: str, node: str, device: str) -> str:
    return f"{group}/{node}/{device}" if device else f"{group}/{node}"
