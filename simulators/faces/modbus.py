"""Modbus TCP face (pymodbus): one device (unit id) per machine, a documented register map.

Holding and input registers share one block per device (both tables return the same words).

Machine map (every archetype but the legacy lathe), from address 0:

| addr  | type                 | content                                                     |
|-------|----------------------|-------------------------------------------------------------|
| 0     | UINT16               | state code: 0 offline, 1 running, 2 idle, 3 starved,        |
|       |                      | 4 blocked, 5 fault, 6 setup, 7 planned_stop                  |
| 1     | UINT16               | reason code: position in the scenario's `reasons` list + 1   |
|       |                      | (0 none, 65535 not in the list)                              |
| 2     | UINT16               | count_total modulo 65536 (wraps)                             |
| 3     | UINT16               | count_good modulo 65536 (wraps)                              |
| 4     | UINT16               | count_scrap modulo 65536 (wraps)                             |
| 5     | UINT16               | product code: position in the machine's products + 1 (0 none)|
| 6–7   | UINT32 ABCD          | count_total, 32 bits, high word first                        |
| 8–9   | UINT32 ABCD          | simulated time, epoch seconds, high word first               |
| 10    | UINT16               | simulated time, milliseconds part (0–999)                    |
| 12–13 | FLOAT32 ABCD         | first process value (e.g. tonnage_t)                         |
| 14–15 | FLOAT32 ABCD         | second process value                                         |

Legacy lathe (an energy meter and a pulse counter), from address 0:

| addr  | type                 | content                                                     |
|-------|----------------------|-------------------------------------------------------------|
| 0–1   | FLOAT32 CDAB         | power in kW, low word first (as many energy meters do)       |
| 2–3   | UINT32 CDAB          | energy in Wh, low word first                                 |
| 4     | UINT16               | pulse counter: parts made, modulo 65536                      |
| 8–9   | UINT32 ABCD          | simulated time, epoch seconds                                |
| 10    | UINT16               | simulated time, milliseconds part                            |
"""

from __future__ import annotations

import asyncio
import logging
import struct

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from fieldlab.domain.samples import Sample, Value
from fieldlab.simulators.archetypes import resolve
from fieldlab.simulators.scenario import Scenario

log = logging.getLogger("fieldlab.sim.modbus")

STATE_CODES = {
    "offline": 0,
    "running": 1,
    "idle": 2,
    "starved": 3,
    "blocked": 4,
    "fault": 5,
    "setup": 6,
    "planned_stop": 7,
}
BLOCK = 32  # registers per device


def f32_abcd(x: float) -> list[int]:
    hi, lo = struct.unpack(">HH", struct.pack(">f", x))
    return [hi, lo]


def u32_abcd(x: int) -> list[int]:
    x &= 0xFFFFFFFF
    return [x >> 16, x & 0xFFFF]


def machine_registers(
    values: dict[str, Value],
    products: list[str],
    reasons: list[str],
    process: tuple[str, ...],
    sim_now: int,
) -> list[int]:
    regs = [0] * BLOCK
    regs[0] = STATE_CODES.get(str(values.get("state", "offline")), 0)
    reason = str(values.get("reason", "") or "")
    regs[1] = 0 if not reason else (reasons.index(reason) + 1 if reason in reasons else 0xFFFF)
    total = int(values.get("count_total", 0) or 0)
    regs[2] = total & 0xFFFF
    regs[3] = int(values.get("count_good", 0) or 0) & 0xFFFF
    regs[4] = int(values.get("count_scrap", 0) or 0) & 0xFFFF
    product = values.get("product")
    regs[5] = products.index(product) + 1 if product in products else 0
    regs[6:8] = u32_abcd(total)
    regs[8:10] = u32_abcd(sim_now // 1000)
    regs[10] = sim_now % 1000
    for i, name in enumerate(process[:2]):
        regs[12 + 2 * i : 14 + 2 * i] = f32_abcd(float(values.get(name, 0.0)))
    return regs


def lathe_registers(values: dict[str, Value], sim_now: int) -> list[int]:
    regs = [0] * BLOCK
    hi, lo = f32_abcd(float(values.get("power_kw", 0.0)))
    regs[0:2] = [lo, hi]  # CDAB
    e_hi, e_lo = u32_abcd(int(round(float(values.get("energy_kwh", 0.0)) * 1000)))
    regs[2:4] = [e_lo, e_hi]
    regs[4] = int(values.get("count_total", 0) or 0) & 0xFFFF
    regs[8:10] = u32_abcd(sim_now // 1000)
    regs[10] = sim_now % 1000
    return regs


class ModbusFace:
    name = "modbus"

    def __init__(self, scenario: Scenario, machines: list[str], settings: object):
        self.scenario = scenario
        self.host = getattr(settings, "host", "127.0.0.1")
        self.port = int(getattr(settings, "modbus_port", 5020))
        self.units: dict[str, int] = {}
        used: set[int] = set()
        for m in machines:
            unit = scenario.machines[m].modbus_unit
            if unit is None or unit in used:
                unit = next(
                    u
                    for u in range(1, 248)
                    if u not in used
                    and u not in {scenario.machines[x].modbus_unit for x in machines}
                )
            used.add(unit)
            self.units[m] = unit
        self.values: dict[str, dict[str, Value]] = {m: {} for m in machines}
        self._server: ModbusTcpServer | None = None
        self._last_now = 0
        self.delay_s = 0.0
        self.exceptions_left = 0
        self.requests = 0

    async def _action(
        self, fc: int, start: int, address: int, count: int, regs: list[int], set_values: object
    ) -> ExcCodes | None:
        if fc in (5, 6, 15, 16) and set_values is not None and self._updating:
            return None  # our own register updates
        self.requests += 1
        if fc in (5, 6, 15, 16, 22, 23):
            return ExcCodes.ILLEGAL_FUNCTION  # the simulator is read-only for clients
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.exceptions_left > 0:
            self.exceptions_left -= 1
            return ExcCodes.DEVICE_FAILURE
        return None

    _updating = False

    def _devices(self) -> list[SimDevice]:
        return [
            SimDevice(
                id=unit,
                simdata=[SimData(0, count=BLOCK, datatype=DataType.REGISTERS)],
                action=self._action,
            )
            for unit in self.units.values()
        ]

    async def start(self, sim_now: int | None = None) -> None:
        if sim_now is not None:
            self._last_now = sim_now
        self._server = ModbusTcpServer(self._devices(), address=(self.host, self.port))
        try:
            await self._server.serve_forever(background=True)
        except RuntimeError:
            self._server = None
            raise OSError(
                f"Modbus face cannot listen on {self.host}:{self.port} "
                "(is the port in use? try --modbus-port)"
            ) from None
        await self._write_all(self._last_now)

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.shutdown()
            self._server = None

    def endpoints(self) -> list[str]:
        units = ", ".join(f"{m}=unit {u}" for m, u in self.units.items())
        return [f"modbus://{self.host}:{self.port} ({units})"]

    async def publish(self, samples: list[Sample], sim_now: int) -> None:
        for s in samples:
            if s.machine in self.values:
                self.values[s.machine][s.signal] = s.value
        self._last_now = sim_now
        await self._write_all(sim_now)

    async def _write_all(self, sim_now: int) -> None:
        server = self._server
        if server is None:
            return
        self._updating = True
        try:
            for m, unit in self.units.items():
                spec = self.scenario.machines[m]
                if spec.archetype == "legacy_lathe":
                    regs = lathe_registers(self.values[m], sim_now)
                else:
                    regs = machine_registers(
                        self.values[m],
                        list(spec.products),
                        self.scenario.reasons,
                        resolve(spec.archetype, spec.behaviour).process,
                        sim_now,
                    )
                await server.context.async_setValues(unit, 16, 0, regs)
        finally:
            self._updating = False

    async def inject(self, fault: str, args: list[str]) -> None:
        if fault == "slow":
            self.delay_s = float(args[0]) if args else 2.0
        elif fault == "fast":
            self.delay_s = 0.0
        elif fault == "exceptions":
            self.exceptions_left = int(args[0]) if args else 5
        elif fault in ("restart", "drop"):
            seconds = float(args[0]) if args else (3.0 if fault == "restart" else 0.2)
            await self.stop()
            await asyncio.sleep(seconds)
            await self.start()
        else:
            raise ValueError(f"unknown Modbus fault {fault!r}")
