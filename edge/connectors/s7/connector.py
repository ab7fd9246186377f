"""Siemens S7 connector (S7-300/400/1200/1500 over ISO-on-TCP, port 102) through python-snap7's
asyncio client: data-block values read by address, merged into as few reads as the PDU allows.

The sample config is `sample.yaml` beside this file; README.md says what the connector does.
It only ever reads (PUT/GET access must be allowed on an S7-1200/1500; the README says how).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from fieldlab.config.addresses import Host
from fieldlab.config.site import SiteConfig
from fieldlab.connectors.base import ConnectorContext
from fieldlab.connectors.s7.address import Address, AddressError, decode, parse_address
from fieldlab.connectors.s7.planner import Read, plan
from fieldlab.domain.rejected import Rejected
from fieldlab.domain.samples import Sample, SampleError
from fieldlab.mapping import Mapper, SignalMap

log = logging.getLogger("fieldlab.s7")
#: Bytes of a read response's headers: a read may carry the negotiated PDU less these.
_PDU_OVERHEAD = 18


def _address(v: str) -> str:
    try:
        parse_address(v)
    except AddressError as exc:
        raise ValueError(str(exc)) from None
    return v


class TimestampConfig(BaseModel):
    """Where the PLC keeps its own clock for the values (e.g. the simulator's simulated time):
    epoch seconds as UDINT, and optionally milliseconds as UINT."""

    model_config = ConfigDict(extra="forbid")
    address: str = Field(description="e.g. DB10.DBD18:UDINT")
    ms_address: str | None = Field(None, description="e.g. DB10.DBW22:UINT")
    _check = field_validator("address", "ms_address")(
        lambda cls, v: v if v is None else _address(v)
    )


class FieldConfig(SignalMap):
    address: str = Field(description="e.g. DB10.DBW4, DB10.DBD8:REAL, DB10.DBX0.1")
    changed: TimestampConfig | None = Field(
        None,
        description="where the PLC program keeps when this value last changed (as "
        "`timestamp`): its sample carries that time (domain.md §3)",
    )
    _check = field_validator("address")(lambda cls, v: _address(v))


class MachineConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    timestamp: TimestampConfig | None = None
    fields: dict[str, FieldConfig] = Field(min_length=1)


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["s7"]
    name: str = "s7"
    host: Host
    port: int = Field(102, ge=1, le=65535)
    rack: int = Field(0, ge=0, le=7)
    slot: int = Field(1, ge=0, le=31, description="S7-300: 2; S7-400: per rack; 1200/1500: 1")
    poll_interval_ms: int = Field(1000, ge=10)
    timeout_s: float = Field(2.0, gt=0)
    max_gap: int = Field(16, ge=0, le=200, description="unused bytes read along to merge reads")
    machines: dict[str, MachineConfig] = Field(min_length=1)

    @property
    def url(self) -> str:
        return f"s7://{self.host}:{self.port}?rack={self.rack}&slot={self.slot}"


def create(cfg: Config, site: SiteConfig, data_dir: Path) -> S7Connector:
    return S7Connector(cfg)


class S7Connector:
    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.name, self.url = cfg.name, cfg.url
        self.machines = list(cfg.machines)
        #: stamped by the CPU's clock only where every machine has clock registers
        self.own_clock = all(mc.timestamp for mc in cfg.machines.values())
        #: clock registers give the time of the read; `changed` ones when a value changed
        self.change_times = any(
            f.changed is not None for mc in cfg.machines.values() for f in mc.fields.values()
        )
        self._mapper = Mapper()
        self._last: dict[tuple[str, str], object] = {}
        self.values: dict[str, Address] = {}
        for m, mc in cfg.machines.items():
            for signal, f in mc.fields.items():
                self.values[f"{m}\0{signal}"] = parse_address(f.address)
                if f.changed is not None:
                    self.values[f"{m}\0__changed:{signal}"] = parse_address(f.changed.address)
                    if f.changed.ms_address:
                        self.values[f"{m}\0__changed_ms:{signal}"] = parse_address(
                            f.changed.ms_address
                        )
            if mc.timestamp:
                self.values[f"{m}\0__ts"] = parse_address(mc.timestamp.address)
                if mc.timestamp.ms_address:
                    self.values[f"{m}\0__ts_ms"] = parse_address(mc.timestamp.ms_address)
        self.reads = plan(self.values, cfg.max_gap)
        self.requests_sent = 0

    def describe_plan(self) -> list[str]:
        return [f"{self.name}: {r.describe()}" for r in self.reads]

    async def run(self, ctx: ConnectorContext) -> None:
        from snap7 import AsyncClient
        from snap7.error import S7Error

        while True:
            client = AsyncClient()
            try:
                await asyncio.wait_for(
                    client.connect(self.cfg.host, self.cfg.rack, self.cfg.slot, self.cfg.port),
                    self.cfg.timeout_s,
                )
                room = max(client.pdu_length - _PDU_OVERHEAD, 16)
                self.reads = plan(self.values, self.cfg.max_gap, room)
                for line in self.describe_plan():
                    ctx.log.info("plan: %s", line)
                await self._poll_forever(client, ctx)
            except (S7Error, OSError, TimeoutError, ConnectionError) as exc:
                self._last.clear()
                for m in self.machines:
                    self._mapper.forget(m)
                await ctx.failed(self.machines, str(exc) or type(exc).__name__)
                await ctx.retry()
            finally:
                with contextlib.suppress(Exception):  # a dead link may not even close
                    await asyncio.wait_for(client.disconnect(), 2)

    async def close(self) -> None:
        """Nothing to hand back: every read was already emitted."""

    async def _poll_forever(self, client: object, ctx: ConnectorContext) -> None:
        interval = self.cfg.poll_interval_ms / 1000
        next_poll = time.monotonic()
        up = False
        while True:
            samples, rejected = await self.poll_once(client, ctx)
            if not up:
                up = True
                ctx.back(self.machines, source_up=True)
            await ctx.send(samples, rejected)
            next_poll += interval
            await asyncio.sleep(max(0.0, next_poll - time.monotonic()))
            if next_poll < time.monotonic():
                next_poll = time.monotonic()

    async def _read(self, client: object, r: Read) -> bytes:
        self.requests_sent += 1
        data = await asyncio.wait_for(
            client.db_read(r.db, r.start, r.size),  # type: ignore[attr-defined]
            self.cfg.timeout_s,
        )
        return bytes(data)

    async def poll_once(
        self, client: object, ctx: ConnectorContext
    ) -> tuple[list[Sample], list[Rejected]]:
        """One poll: every planned read; a value is emitted when it changed. A read the CPU
        refuses (a DB that does not exist, an address past its end) is kept in the rejected
        table with the addresses it held; the other reads flow on."""
        from snap7.error import S7ConnectionError, S7Error

        raw: dict[str, object] = {}
        rejected: list[Rejected] = []
        for r in self.reads:
            try:
                data = await self._read(client, r)
            except S7ConnectionError:
                raise
            except S7Error as exc:
                names = ", ".join(str(a) for _, a in r.keys)
                reason = f"S7 read refused for {r.describe()} ({exc}): {names} not read"
                rejected.append(Rejected(f"s7:{self.name}:DB{r.db}@{r.start}", str(exc), reason))
                ctx.error(reason)
                continue
            for key, a in r.keys:
                off = a.offset - r.start
                raw[key] = decode(a, data[off : off + a.size])
        samples: list[Sample] = []
        now_ms = int(time.time() * 1000)
        for m, mc in self.cfg.machines.items():
            ts = now_ms
            if mc.timestamp and f"{m}\0__ts" in raw:
                ts = int(raw[f"{m}\0__ts"]) * 1000 + int(raw.get(f"{m}\0__ts_ms", 0))  # type: ignore[call-overload]
            ctx.clock.observe(ts)
            for signal, fcfg in mc.fields.items():
                key = f"{m}\0{signal}"
                if key not in raw or self._last.get((m, signal)) == raw[key]:
                    continue
                at = ts
                changed = raw.get(f"{m}\0__changed:{signal}")
                if changed:
                    ms = raw.get(f"{m}\0__changed_ms:{signal}", 0)
                    at = int(changed) * 1000 + int(ms)  # type: ignore[call-overload]
                try:
                    samples += self._mapper.apply(m, signal, raw[key], at, fcfg)
                    self._last[(m, signal)] = raw[key]
                except (SampleError, ValueError) as exc:
                    rejected.append(
                        Rejected(f"s7:{self.name}:{fcfg.address}", repr(raw[key]), str(exc))
                    )
        return samples, rejected
