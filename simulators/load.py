"""Load mode for benchmarks: N machines × M process values changing at R Hz on one face.

Like OPC PLC's fast nodes, but spread over several processes, because one asyncua server process
saturates near 5k changes/s (REFERENCE.md). Process i serves machines ``[i·N/K, (i+1)·N/K)``;
OPC UA and Modbus process i listen on ``port + i``, MQTT processes all publish to one broker.

OPC UA: ``ns=2;s=load-<n>.v<m>`` (Double). Modbus: unit ``n % 247 + 1`` of process i, FLOAT32
ABCD values from address 0. MQTT: ``fieldlab/load/load/load-<n>/v<m>`` with ``{"ts", "value"}``.
"""

from __future__ import annotations

import asyncio
import math
import multiprocessing as mp
import re
import struct
import time
from dataclasses import dataclass
from multiprocessing.process import BaseProcess

from fieldlab.domain.samples import to_ms
from fieldlab.process import on_stop_signals, watch_parent


@dataclass(frozen=True)
class LoadSpec:
    machines: int
    values: int
    rate_hz: float

    @classmethod
    def parse(cls, text: str) -> LoadSpec:
        """``100x10@1``: 100 machines × 10 values at 1 Hz."""
        m = re.fullmatch(r"(\d+)\s*[x×]\s*(\d+)\s*@\s*(\d+(?:\.\d+)?)", text.strip())
        if not m:
            raise ValueError(f'"{text}" is not a load like 100x10@1 (machines x values @ Hz)')
        return cls(int(m[1]), int(m[2]), float(m[3]))

    @property
    def changes_per_s(self) -> float:
        return self.machines * self.values * self.rate_hz


def _value(machine: int, index: int, t: float) -> float:
    return round(50 + 40 * math.sin(t / 7 + machine * 0.37 + index * 1.3), 3)


async def _opcua(
    first: int, count: int, spec: LoadSpec, host: str, port: int, stop: asyncio.Event
) -> None:
    from asyncua import Server, ua

    server = Server()
    await server.init()
    server.set_endpoint(f"opc.tcp://{host}:{port}/fieldlab/")
    server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
    idx = await server.register_namespace("urn:fieldlab-kit:simulator")
    folder = await server.nodes.objects.add_folder(ua.NodeId("Fieldlab", idx), f"{idx}:Fieldlab")
    nodes = []
    for n in range(first, first + count):
        obj = await folder.add_object(ua.NodeId(f"load-{n}", idx), f"{idx}:load-{n}")
        for v in range(spec.values):
            var = await obj.add_variable(ua.NodeId(f"load-{n}.v{v}", idx), f"{idx}:v{v}", 0.0)
            nodes.append((n, v, var.nodeid))
    async with server:
        while not stop.is_set():
            t0 = time.monotonic()
            now = time.time()
            for n, v, nodeid in nodes:
                await server.write_attribute_value(
                    nodeid, ua.DataValue(ua.Variant(_value(n, v, now), ua.VariantType.Double))
                )
            await asyncio.sleep(max(0.001, 1 / spec.rate_hz - (time.monotonic() - t0)))


async def _modbus(
    first: int, count: int, spec: LoadSpec, host: str, port: int, stop: asyncio.Event
) -> None:
    from pymodbus.server import ModbusTcpServer
    from pymodbus.simulator import DataType, SimData, SimDevice

    units = [n % 247 + 1 for n in range(first, first + count)]
    regs = max(2 * spec.values, 2)
    server = ModbusTcpServer(
        [
            SimDevice(id=u, simdata=[SimData(0, count=regs, datatype=DataType.REGISTERS)])
            for u in sorted(set(units))
        ],
        address=(host, port),
    )
    await server.serve_forever(background=True)
    try:
        while not stop.is_set():
            t0 = time.monotonic()
            now = time.time()
            for n, unit in zip(range(first, first + count), units, strict=True):
                words: list[int] = []
                for v in range(spec.values):
                    words += struct.unpack(">HH", struct.pack(">f", _value(n, v, now)))
                await server.context.async_setValues(unit, 16, 0, words)
            await asyncio.sleep(max(0.001, 1 / spec.rate_hz - (time.monotonic() - t0)))
    finally:
        await server.shutdown()


async def _mqtt(
    first: int, count: int, spec: LoadSpec, host: str, port: int, stop: asyncio.Event
) -> None:
    import json

    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"fieldlab-load-{first}")
    client.max_inflight_messages_set(100)
    client.connect(host, port)
    client.loop_start()
    try:
        while not stop.is_set():
            t0 = time.monotonic()
            now = time.time()
            ts = to_ms_now()
            for n in range(first, first + count):
                for v in range(spec.values):
                    client.publish(
                        f"fieldlab/load/load/load-{n}/v{v}",
                        json.dumps({"ts": ts, "value": _value(n, v, now)}),
                        qos=1,
                    )
            await asyncio.sleep(max(0.001, 1 / spec.rate_hz - (time.monotonic() - t0)))
    finally:
        client.loop_stop()
        client.disconnect()


def to_ms_now() -> int:
    import datetime as dt

    return to_ms(dt.datetime.now(dt.UTC))


SERVERS = {"opcua": _opcua, "modbus": _modbus, "mqtt": _mqtt}


def _worker(
    face: str,
    first: int,
    count: int,
    spec: LoadSpec,
    host: str,
    port: int,
    seconds: float | None,
) -> None:
    watch_parent()  # a SIGKILLed `fieldlab sim --load` leaves no server behind

    async def main() -> None:
        import logging

        logging.getLogger("asyncua").setLevel(logging.ERROR)  # its warnings are for clients
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        on_stop_signals(loop, stop.set)
        if seconds is not None:
            loop.call_later(seconds, stop.set)
        await SERVERS[face](first, count, spec, host, port, stop)

    asyncio.run(main())


def start_load(
    face: str,
    spec: LoadSpec,
    *,
    host: str = "127.0.0.1",
    port: int,
    processes: int = 1,
    seconds: float | None = None,
) -> list[BaseProcess]:
    """Start the load processes; each stops on SIGTERM or after ``seconds``."""
    if face not in SERVERS:
        raise ValueError(f"unknown face {face!r}; expected opcua, modbus or mqtt")
    per = math.ceil(spec.machines / processes)
    procs: list[BaseProcess] = []
    ctx = mp.get_context("spawn")
    for i in range(processes):
        first = i * per
        count = max(0, min(per, spec.machines - first))
        if count == 0:
            break
        p = ctx.Process(
            target=_worker,
            args=(
                face,
                first,
                count,
                spec,
                host,
                port if face == "mqtt" else port + i,
                seconds,
            ),
            daemon=True,
        )
        p.start()
        procs.append(p)
    return procs


def stop_load(procs: list[BaseProcess], timeout: float = 10.0) -> None:
    """Stop load processes: all are told at once, then each is waited for (killed if it hangs)."""
    for p in procs:
        p.terminate()
    for p in procs:
        p.join(timeout)
        if p.is_alive():
            p.kill()
            p.join()
