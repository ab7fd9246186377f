"""Modbus TCP face (pymodbus): one device (unit id) per machine, read-only, its registers laid
out by `register_map.py` (the documented map, shared with the gateway's site for the simulator).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from fieldlab.domain.samples import Sample, Value
from fieldlab.errors import PortInUse, check_port
from fieldlab.simulators.faces.base import FaceSettings, ReadOptions
from fieldlab.simulators.register_map import (
    BLOCK,
    GATEWAY_TIMESTAMP,
    block,
    gateway_fields,
    registers,
    unit_ids,
)
from fieldlab.simulators.scenario import Scenario

log = logging.getLogger("fieldlab.sim.modbus")


def gateway_source(
    scenario: Scenario, machines: list[str], settings: FaceSettings, read: ReadOptions
) -> dict[str, Any]:
    """The gateway's `type: modbus` source: a device per machine, the documented map."""
    devices = [
        {
            "unit": unit,
            "machine": mid,
            "timestamp": dict(GATEWAY_TIMESTAMP),
            "fields": gateway_fields(registers(scenario, mid)),
        }
        for mid, unit in unit_ids(scenario, machines).items()
    ]
    return {
        "type": "modbus",
        "name": "sim-modbus",
        "host": settings.host,
        "port": settings.port("modbus"),
        "poll_interval_ms": read.poll_ms,
        "devices": devices,
    }


class ModbusFace:
    name = "modbus"
    terminal = False

    def __init__(self, scenario: Scenario, machines: list[str], settings: FaceSettings):
        self.scenario = scenario
        self.host = settings.host
        self.port = settings.port("modbus")
        self.units = unit_ids(scenario, machines)
        self.values: dict[str, dict[str, Value]] = {m: {} for m in machines}
        self.state_since: dict[str, int] = {}  # when each machine's state last changed
        self.maps = {m: registers(scenario, m) for m in machines}
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
        # pymodbus logs a bind error and raises RuntimeError without the cause: look first
        if not getattr(self, "_started_once", False):  # not at a restart fault's start
            check_port("Modbus face", self.host, self.port, "--modbus-port")
        self._started_once = True
        self._server = ModbusTcpServer(self._devices(), address=(self.host, self.port))
        try:
            await self._server.serve_forever(background=True)
        except RuntimeError:
            self._server = None
            raise PortInUse("Modbus face", self.host, self.port, "--modbus-port") from None
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
                if s.signal == "state" and self.values[s.machine].get("state") != s.value:
                    self.state_since[s.machine] = s.ts
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
                regs = block(self.maps[m], self.values[m], sim_now, self.state_since.get(m))
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


Face = ModbusFace
