"""Modbus TCP connector (pymodbus client, our own decoding and request planning).

The sample config is `sample.yaml` beside this file; README.md says what the connector does.

One task per connection (a source); each request isolated: an exception for one block marks
its fields bad and is kept in the rejected table, the rest flow. A unit that stops answering
is written `offline` and backed off on its own; the others keep their poll cycle.
The connector only ever reads: it has no write path.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from fieldlab.config.addresses import Host
from fieldlab.config.site import SiteConfig
from fieldlab.connectors.base import Backoff, ConnectorContext
from fieldlab.connectors.modbus.codec import WORDS, DataType, Order, decode
from fieldlab.connectors.modbus.planner import FieldRef, Request, plan
from fieldlab.domain.rejected import Rejected
from fieldlab.domain.samples import Sample, SampleError
from fieldlab.mapping import Mapper, SignalMap

Table = Literal["holding", "input", "coil", "discrete"]
log = logging.getLogger("fieldlab.modbus")

EXCEPTIONS = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "device failure",
    5: "acknowledge",
    6: "device busy",
    10: "gateway path",
    11: "gateway target failed to respond",
}


class TimestampConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    table: Table = "holding"
    address: int = Field(ge=0, description="UINT32 ABCD epoch seconds")
    ms_address: int | None = Field(None, ge=0, description="UINT16 milliseconds part")


class FieldConfig(SignalMap):
    table: Table = "holding"
    address: int = Field(ge=0, le=65535)
    type: DataType = "UINT16"
    order: Order = "ABCD"
    count: int | None = Field(None, ge=1, le=125, description="STRING: registers")
    bit: int | None = Field(None, ge=0, le=15, description="BIT in a register")
    changed: TimestampConfig | None = Field(
        None,
        description="registers where the PLC program keeps when this value last changed (as "
        "`timestamp`): its sample carries that time, so a value older than a gap held through "
        "it (domain.md §3)",
    )

    @model_validator(mode="after")
    def _fits(self) -> FieldConfig:
        if self.table in ("coil", "discrete") and self.type != "BIT":
            raise ValueError(f"a {self.table} holds bits: type must be BIT")
        if self.type == "STRING" and self.count is None:
            raise ValueError("a STRING needs count (registers)")
        return self

    def size(self) -> int:
        if self.table in ("coil", "discrete"):
            return 1
        if self.type == "STRING":
            assert self.count is not None  # _fits requires it
            return self.count
        return WORDS[self.type]


class DeviceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    unit: int = Field(1, ge=0, le=255)
    machine: str
    addressing: Literal[0, 1] = 0
    pause_ms: int = Field(0, ge=0)
    timestamp: TimestampConfig | None = None
    fields: dict[str, FieldConfig] = Field(min_length=1)


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["modbus"]
    name: str = "modbus"
    host: Host
    port: int = Field(502, ge=1, le=65535)
    poll_interval_ms: int = Field(1000, ge=10)
    timeout_s: float = Field(1.0, gt=0)
    max_gap: int = Field(10, ge=0, le=124)
    devices: list[DeviceConfig] = Field(min_length=1)

    @property
    def url(self) -> str:
        return f"modbus://{self.host}:{self.port}"


def create(cfg: Config, site: SiteConfig, data_dir: Path) -> ModbusConnector:
    return ModbusConnector(cfg)


class _Device:
    def __init__(self, cfg: DeviceConfig, max_gap: int):
        self.cfg = cfg
        shift = cfg.addressing
        refs = [
            FieldRef(sig, f.table, f.address - shift, f.size()) for sig, f in cfg.fields.items()
        ]
        if cfg.timestamp:
            t = cfg.timestamp
            refs.append(FieldRef("__ts", t.table, t.address - shift, 2))
            if t.ms_address is not None:
                refs.append(FieldRef("__ts_ms", t.table, t.ms_address - shift, 1))
        for sig, f in cfg.fields.items():
            if f.changed is not None:
                c = f.changed
                refs.append(FieldRef(f"__changed:{sig}", c.table, c.address - shift, 2))
                if c.ms_address is not None:
                    refs.append(FieldRef(f"__changed_ms:{sig}", c.table, c.ms_address - shift, 1))
        self.requests = plan(refs, max_gap)
        self.backoff = Backoff()
        self.retry_at = 0.0
        self.last: dict[str, object] = {}


class ModbusConnector:
    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.name = cfg.name
        self.url = cfg.url
        self.devices = [_Device(d, cfg.max_gap) for d in cfg.devices]
        self.machines = [d.machine for d in cfg.devices]
        #: stamped by the device's clock only where every device has time registers
        self.own_clock = all(d.timestamp for d in cfg.devices)
        #: time registers give the time of the read; `changed` registers when a value changed
        self.change_times = any(
            f.changed is not None for d in cfg.devices for f in d.fields.values()
        )
        self._mapper = Mapper()
        self.requests_sent = 0
        self.overruns = 0
        self.answers = 0  # devices that answered a poll, ever
        self._unanswered = ""

    def describe_plan(self) -> list[str]:
        return [
            f"{self.name} unit {d.cfg.unit} ({d.cfg.machine}): {r.describe()}"
            for d in self.devices
            for r in d.requests
        ]

    async def _read(self, client: AsyncModbusTcpClient, unit: int, req: Request) -> list:
        self.requests_sent += 1
        call = {
            "holding": client.read_holding_registers,
            "input": client.read_input_registers,
            "coil": client.read_coils,
            "discrete": client.read_discrete_inputs,
        }[req.table]
        rr = await call(req.address, count=req.count, device_id=unit)
        if rr.isError():
            code = getattr(rr, "exception_code", 0)
            raise _DeviceException(code)
        return (
            list(rr.bits[: req.count]) if req.table in ("coil", "discrete") else list(rr.registers)
        )

    async def run(self, ctx: ConnectorContext) -> None:
        for line in self.describe_plan():
            ctx.log.info("plan: %s", line)
        while True:
            client = AsyncModbusTcpClient(
                self.cfg.host,
                port=self.cfg.port,
                timeout=self.cfg.timeout_s,
                retries=0,
                reconnect_delay=0,  # pymodbus's own reconnect (doubling to 300 s) hides a loss
            )
            try:
                if not await client.connect():
                    raise ConnectionError(f"no answer from {self.cfg.host}:{self.cfg.port}")
                await self._poll_forever(client, ctx)
            except (ConnectionError, ModbusException, OSError, TimeoutError) as exc:
                for d in self.devices:
                    d.last.clear()
                    self._mapper.forget(d.cfg.machine)
                await ctx.failed(self.machines, str(exc))
                await ctx.retry()
            finally:
                client.close()

    async def close(self) -> None:
        """Nothing to hand back: every read was already emitted."""

    async def _poll_forever(self, client: AsyncModbusTcpClient, ctx: ConnectorContext) -> None:
        """Connected means a unit answered, not that TCP was accepted: a device that accepts
        and never answers (a hung PLC, a half-open link) has its connection dropped and made
        again, with backoff, instead of showing as connected."""
        interval = self.cfg.poll_interval_ms / 1000
        next_poll = time.monotonic()
        up = False
        while True:
            answered = self.answers
            samples, rejected = await self.poll_once(client, ctx)
            if self.answers > answered:
                if not up:
                    up = True
                    ctx.back([], source_up=True)
            elif all(d.retry_at > time.monotonic() for d in self.devices):
                raise ConnectionError(
                    f"no unit answers at {self.cfg.host}:{self.cfg.port} ({self._unanswered})"
                )
            await ctx.send(samples, rejected)
            if not client.connected:
                raise ConnectionError("connection closed by the device")
            next_poll += interval
            delay = next_poll - time.monotonic()
            if delay < 0:
                self.overruns += 1
                next_poll = time.monotonic()
                delay = 0
            await asyncio.sleep(delay)

    async def poll_once(
        self, client: AsyncModbusTcpClient, ctx: ConnectorContext
    ) -> tuple[list[Sample], list[Rejected]]:
        """One poll of every device that is due. Values are stamped with the time they were
        read (the device's time registers, else the gateway's clock), which is also the
        instant contact returned after a loss. Public so a benchmark or a fuzz test can drive
        polls one at a time on a client of its own."""
        samples: list[Sample] = []
        rejected: list[Rejected] = []
        now = time.monotonic()
        for dev in self.devices:
            if now < dev.retry_at:
                continue
            words: dict[str, list] = {}
            unreachable = None
            for req in dev.requests:
                try:
                    data = await self._read(client, dev.cfg.unit, req)
                except _DeviceException as exc:
                    names = ", ".join(f.key for f in req.fields)
                    reason = (
                        f"Modbus exception {exc.code} ({EXCEPTIONS.get(exc.code, '?')}) "
                        f"for {req.describe()}: {names} not read"
                    )
                    rejected.append(
                        Rejected(
                            f"modbus:{self.name}:unit {dev.cfg.unit}:{req.table}@{req.address}",
                            f"exception {exc.code}",
                            reason,
                        )
                    )
                    ctx.error(reason)
                    continue
                except (TimeoutError, ModbusException) as exc:
                    unreachable = str(exc) or "no answer"
                    break
                for f in req.fields:
                    off = f.address - req.address
                    words[f.key] = data[off : off + f.size]
                if dev.cfg.pause_ms:
                    await asyncio.sleep(dev.cfg.pause_ms / 1000)
            if unreachable is not None:
                if not client.connected:
                    raise ConnectionError(unreachable)
                self._unanswered = unreachable
                dev.retry_at = time.monotonic() + dev.backoff.next()
                dev.last.clear()
                self._mapper.forget(dev.cfg.machine)
                await ctx.lost(
                    [dev.cfg.machine], f"unit {dev.cfg.unit}: {unreachable}", source_down=False
                )
                continue
            dev.backoff.reset()
            self.answers += 1
            if dev.cfg.machine in ctx.health.machines_offline:
                ctx.back([dev.cfg.machine], source_up=False)
            ts = self._timestamp(dev, words)
            ctx.clock.observe(ts)
            for signal, fcfg in dev.cfg.fields.items():
                if signal not in words:
                    continue
                try:
                    raw = (
                        decode(words[signal], fcfg.type, fcfg.order, fcfg.bit)
                        if fcfg.table not in ("coil", "discrete")
                        else bool(words[signal][0])
                    )
                    if dev.last.get(signal) == raw:
                        continue  # unchanged: nothing new to say
                    at = _epoch_ms(words, f"__changed:{signal}", f"__changed_ms:{signal}") or ts
                    new = self._mapper.apply(dev.cfg.machine, signal, raw, at, fcfg)
                    dev.last[signal] = raw
                    samples += new
                except (SampleError, ValueError) as exc:
                    rejected.append(
                        Rejected(
                            f"modbus:{self.name}:unit {dev.cfg.unit}:{signal}",
                            repr(words[signal]),
                            str(exc),
                        )
                    )
        return samples, rejected

    def _timestamp(self, dev: _Device, words: dict[str, list]) -> int:
        return _epoch_ms(words, "__ts", "__ts_ms") or int(time.time() * 1000)


def _epoch_ms(words: dict[str, list], secs_key: str, ms_key: str) -> int | None:
    """A device's clock in registers: UINT32 epoch seconds (high word first) and optional
    milliseconds; None where they are absent or zero (a PLC that has not set them yet)."""
    if secs_key not in words:
        return None
    secs = (int(words[secs_key][0]) << 16) | int(words[secs_key][1])
    ms = int(words[ms_key][0]) if ms_key in words else 0
    return secs * 1000 + ms if secs else None


class _DeviceException(Exception):
    def __init__(self, code: int):
        super().__init__(f"exception {code}")
        self.code = code
