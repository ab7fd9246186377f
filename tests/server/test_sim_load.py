"""Load mode: N machines × M values at R Hz, spread over processes, on each face."""

from __future__ import annotations

import asyncio

import paho.mqtt.client as mqtt
import pytest
from asyncua import Client
from paho.mqtt.enums import CallbackAPIVersion
from pymodbus.client import ModbusTcpClient

from tests.services import Process, eventually, free_port, wait_port


@pytest.mark.slow
def test_opcua_load_over_two_processes():
    port = free_port()
    with Process(
        "sim",
        "--load",
        "4x5@5",
        "--faces",
        "opcua",
        "--processes",
        "2",
        "--opcua-port",
        str(port),
        "--for",
        "60s",
    ) as proc:
        proc.wait_for("100 changes/s on opcua, 2 processes")
        # each process starts its own asyncua server; the second (spawned, importing the kit
        # afresh) took more than 15 s once on a loaded 2-core CI machine
        try:
            wait_port(port, 60)
            wait_port(port + 1, 60)
        except TimeoutError as exc:
            raise AssertionError(f"{exc}\n{proc.output}") from None

        async def read() -> list[float]:
            async with Client(f"opc.tcp://127.0.0.1:{port + 1}/fieldlab/") as c:
                node = c.get_node("ns=2;s=load-2.v4")  # machine 2 lives in the second process
                first = await node.read_value()
                await asyncio.sleep(0.6)
                return [first, await node.read_value()]

        a, b = asyncio.run(read())
        assert a != b


@pytest.mark.slow
def test_modbus_and_mqtt_load(broker: int):
    port = free_port()
    with Process(
        "sim", "--load", "3x4@10", "--faces", "modbus", "--modbus-port", str(port), "--for", "60s"
    ) as proc:
        proc.wait_for("on modbus")
        wait_port(port)
        c = ModbusTcpClient("127.0.0.1", port=port)
        c.connect()
        r = c.read_holding_registers(0, count=8, device_id=3)
        c.close()
        assert not r.isError() and any(r.registers)
    mport = broker
    got: list[str] = []
    sub = mqtt.Client(CallbackAPIVersion.VERSION2)
    sub.on_message = lambda c, u, m: got.append(m.topic)
    sub.connect("127.0.0.1", mport)
    sub.subscribe("fieldlab/load/#")
    sub.loop_start()
    try:
        with Process(
            "sim",
            "--load",
            "2x3@20",
            "--faces",
            "mqtt",
            "--mqtt",
            f"mqtt://127.0.0.1:{mport}",
            "--for",
            "2s",
        ) as proc:
            proc.proc.wait(30)
        eventually(lambda: len(got) >= 100, "100 values subscribed")
    finally:
        sub.loop_stop()
        sub.disconnect()
    assert len(got) >= 100  # 6 values at 20 Hz for 2 s = 240
    assert "fieldlab/load/load/load-1/v2" in got
