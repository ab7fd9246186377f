"""Siemens S7 face (python-snap7's server, a stack none of us wrote): one data block per machine,
laid out once here for the face and for the gateway's site (`s7_fields`), the way a PLC
programmer would lay out an interface DB. Read-only in spirit: the gateway never writes.

| byte | type | content |
|---|---|---|
| 0 | INT | state code (as the Modbus map: 1 running, 2 idle, … 7 planned_stop) |
| 2 | INT | reason code: position in the scenario's `reasons` + 1 (0 none, -1 unlisted) |
| 4, 8, 12 | UDINT | count_total, count_good, count_scrap |
| 16 | INT | product code: position in the machine's products + 1 |
| 18 | UDINT | simulated time, epoch seconds |
| 22 | UINT | simulated time, milliseconds part |
| 24, 28 | REAL | first and second process value |
| 32 | REAL | power, kW |
| 36 | UDINT | energy, Wh |
| 40.0 | BOOL | running (state = running) |
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from fieldlab.connectors.s7.address import Address, encode, parse_address
from fieldlab.domain.samples import Sample, Value
from fieldlab.errors import check_port
from fieldlab.simulators.archetypes import resolve
from fieldlab.simulators.faces.base import FaceSettings, ReadOptions
from fieldlab.simulators.register_map import STATE_CODES
from fieldlab.simulators.scenario import Scenario

log = logging.getLogger("fieldlab.sim.s7")
FIRST_DB = 10
DB_SIZE = 42


@dataclass(frozen=True)
class S7Value:
    signal: str
    offset: int
    type: str
    codes: dict[str, int] | None = None
    scale: float = 1.0  # stored = value / scale

    def address(self, db: int) -> Address:
        width = {"INT": "W", "UINT": "W", "UDINT": "D", "REAL": "D"}[self.type]
        return parse_address(f"DB{db}.DB{width}{self.offset}:{self.type}")


def layout(scenario: Scenario, machine: str) -> list[S7Value]:
    spec = scenario.machines[machine]
    params = resolve(spec.archetype, spec.behaviour)
    reasons = {"": 0} | {r: i + 1 for i, r in enumerate(scenario.reasons)}
    values = [
        S7Value("state", 0, "INT", STATE_CODES),
        S7Value("reason", 2, "INT", reasons),
        S7Value("count_total", 4, "UDINT"),
        S7Value("count_good", 8, "UDINT"),
        S7Value("count_scrap", 12, "UDINT"),
    ]
    if spec.products:
        values.append(
            S7Value("product", 16, "INT", {p: j + 1 for j, p in enumerate(spec.products)})
        )
    for j, name in enumerate(params.process[:2]):
        values.append(S7Value(name, 24 + 4 * j, "REAL"))
    if params.power.kw:
        values += [S7Value("power_kw", 32, "REAL"), S7Value("energy_kwh", 36, "UDINT", scale=0.001)]
    return values


def db_numbers(machines: list[str]) -> dict[str, int]:
    return {m: FIRST_DB + i for i, m in enumerate(machines)}


def s7_fields(scenario: Scenario, machine: str, db: int) -> dict[str, Any]:
    """The gateway's `machines.<id>` entry for this machine's data block."""
    fields: dict[str, Any] = {}
    for v in layout(scenario, machine):
        f: dict[str, Any] = {"address": str(v.address(db))}
        if v.codes is not None:
            f["map"] = {str(code): text for text, code in v.codes.items() if text}
        if v.scale != 1.0:
            f["scale"] = v.scale
        fields[v.signal] = f
    return {
        "timestamp": {"address": f"DB{db}.DBD18:UDINT", "ms_address": f"DB{db}.DBW22:UINT"},
        "fields": fields,
    }


def block(values: list[S7Value], db: int, current: dict[str, Value], sim_now: int) -> bytearray:
    data = bytearray(DB_SIZE)
    for v in values:
        raw: Value | None = current.get(v.signal)
        if v.codes is not None:
            number: float = v.codes.get(str(raw or ""), -1 if raw else 0)
        else:
            number = float(raw or 0) / v.scale
            if v.type != "REAL":
                number = int(round(number)) & 0xFFFFFFFF
        a = v.address(db)
        data[a.offset : a.offset + a.size] = encode(a, number)
    ts = parse_address(f"DB{db}.DBD18:UDINT")
    data[18:22] = encode(ts, sim_now // 1000)
    data[22:24] = encode(parse_address(f"DB{db}.DBW22:UINT"), sim_now % 1000)
    data[40] = 1 if current.get("state") == "running" else 0
    return data


def gateway_source(
    scenario: Scenario, machines: list[str], settings: FaceSettings, read: ReadOptions
) -> dict[str, Any]:
    """The gateway's `type: s7` source for these machines' data blocks."""
    return {
        "type": "s7",
        "name": "sim-s7",
        "host": settings.host,
        "port": settings.port("s7"),
        "rack": 0,
        "slot": 1,
        "poll_interval_ms": read.poll_ms,
        "machines": {m: s7_fields(scenario, m, db) for m, db in db_numbers(machines).items()},
    }


class S7Face:
    name = "s7"
    terminal = False

    def __init__(self, scenario: Scenario, machines: list[str], settings: FaceSettings):
        self.scenario = scenario
        self.host = settings.host
        self.port = settings.port("s7")
        self.dbs = db_numbers(machines)
        self.layouts = {m: layout(scenario, m) for m in machines}
        self.values: dict[str, dict[str, Value]] = {m: {} for m in machines}
        self.buffers = {m: bytearray(DB_SIZE) for m in machines}
        self._server: Any = None
        self._last_now = 0

    async def start(self, sim_now: int | None = None) -> None:
        from snap7.server import Server
        from snap7.type import SrvArea

        if sim_now is not None:
            self._last_now = sim_now
        if not getattr(self, "_started_once", False):  # not at a restart fault's start
            check_port("S7 face", self.host, self.port, "--s7-port")
        self._started_once = True
        server = Server(log=False)
        for m, db in self.dbs.items():
            server.register_area(SrvArea.DB, db, self.buffers[m])
        try:
            await asyncio.to_thread(server.start_to, self.host, self.port)
        except Exception as exc:  # noqa: BLE001 - snap7 says S7ConnectionError
            raise OSError(
                f"S7 face cannot listen on {self.host}:{self.port} ({exc}; try --s7-port)"
            ) from None
        self._server = server
        self._write_all(self._last_now)

    async def stop(self) -> None:
        if self._server is not None:
            server, self._server = self._server, None
            await asyncio.to_thread(server.stop)
            await asyncio.to_thread(server.destroy)

    def endpoints(self) -> list[str]:
        dbs = ", ".join(f"{m}=DB{db}" for m, db in self.dbs.items())
        return [f"s7://{self.host}:{self.port}?rack=0&slot=1 ({dbs})"]

    async def publish(self, samples: list[Sample], sim_now: int) -> None:
        for s in samples:
            if s.machine in self.values:
                self.values[s.machine][s.signal] = s.value
        self._last_now = sim_now
        self._write_all(sim_now)

    def _write_all(self, sim_now: int) -> None:
        from snap7.type import SrvArea

        server = self._server
        for m, db in self.dbs.items():
            data = block(self.layouts[m], db, self.values[m], sim_now)
            if server is not None:
                server.lock_area(SrvArea.DB, db)
            try:
                self.buffers[m][:] = data  # in place: the server serves this very buffer
            finally:
                if server is not None:
                    server.unlock_area(SrvArea.DB, db)

    async def inject(self, fault: str, args: list[str]) -> None:
        if fault in ("restart", "drop"):
            seconds = float(args[0]) if args else (3.0 if fault == "restart" else 0.2)
            await self.stop()
            await asyncio.sleep(seconds)
            await self.start()
        else:
            raise ValueError(f"unknown S7 fault {fault!r}")


Face = S7Face
