"""A PLC without a clock of its own, as most small ones are: a real Modbus TCP server (pymodbus)
with a state word and a 32-bit production counter that counts ten units a second while the
machine runs. The gateway stamps its values with its own clock, so a step of that clock is the
gateway's problem to survive (domain.md §9). Runs in a thread of the test; stops when the `with`
ends."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from tests.services import free_port

RUNNING, IDLE = 1, 2


class ClocklessPlc:
    def __init__(self, counter: int = 500_000, units_per_s: float = 10.0):
        self.port = free_port()
        self.counter = counter
        self.state = IDLE
        self.units_per_s = units_per_s
        self._loop = asyncio.new_event_loop()
        self._server: ModbusTcpServer | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._lock = threading.Lock()

    def _registers(self) -> list[int]:
        return [self.state, 0, self.counter >> 16 & 0xFFFF, self.counter & 0xFFFF] + [0] * 4

    async def _start(self) -> None:
        self._server = ModbusTcpServer(
            [SimDevice(id=1, simdata=[SimData(0, count=8, datatype=DataType.REGISTERS)])],
            address=("127.0.0.1", self.port),
        )
        await self._server.serve_forever(background=True)
        await self._write()
        self._ticker = asyncio.create_task(self._count())

    async def _write(self) -> None:
        assert self._server is not None
        with self._lock:
            regs = self._registers()
        await self._server.context.async_setValues(1, 16, 0, regs)

    async def _count(self) -> None:
        """Whole units at their real moments: one every 1/units_per_s of running time."""
        step = 1 / self.units_per_s
        next_at = time.monotonic() + step
        while True:
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            next_at += step
            with self._lock:
                if self.state == RUNNING:
                    self.counter += 1
            await self._write()

    def set_state(self, state: int) -> None:
        with self._lock:
            self.state = state
        asyncio.run_coroutine_threadsafe(self._write(), self._loop).result(5)

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)

    def stop(self) -> None:
        async def down() -> None:
            self._ticker.cancel()
            if self._server is not None:
                await self._server.shutdown()

        asyncio.run_coroutine_threadsafe(down(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()


@contextmanager
def clockless_plc(counter: int = 500_000) -> Iterator[ClocklessPlc]:
    plc = ClocklessPlc(counter)
    plc.start()
    try:
        yield plc
    finally:
        plc.stop()
