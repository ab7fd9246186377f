"""OPC UA security of the simulator face, and fault injection on every face."""

from __future__ import annotations

import asyncio
import math
import socket
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
import yaml
from asyncua import Client, ua
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256
from cryptography.x509.oid import ExtendedKeyUsageOID
from paho.mqtt.enums import CallbackAPIVersion
from pymodbus.client import AsyncModbusTcpClient

from fieldlab.simulators.faces.base import FaceSettings
from fieldlab.simulators.runner import Simulation
from fieldlab.simulators.scenario import Scenario, load_scenario
from tests.helpers import local
from tests.services import free_port

START = local("2026-03-02 06:00")


async def client_cert(folder: Path, name: str) -> tuple[Path, Path, str]:
    uri = f"urn:fieldlab-kit:test:{name}"
    key, cert = folder / f"{name}-key.pem", folder / f"{name}-cert.der"
    await setup_self_signed_certificate(
        key,
        cert,
        uri,
        socket.gethostname(),
        [ExtendedKeyUsageOID.CLIENT_AUTH],
        {"commonName": name},
    )
    return key, cert, uri


async def secure_client(url: str, pki: Path, key: Path, cert: Path, uri: str) -> Client:
    client = Client(url, timeout=10)
    client.application_uri = uri
    await client.set_security(
        SecurityPolicyBasic256Sha256,
        str(cert),
        str(key),
        server_certificate=str(pki / "server-cert.der"),
        mode=ua.MessageSecurityMode.SignAndEncrypt,
    )
    return client


def test_opcua_sign_and_encrypt_admits_a_trusted_client_and_refuses_others(tmp_path):
    async def go() -> None:
        pki = tmp_path / "pki"
        (pki / "trusted").mkdir(parents=True)
        good = await client_cert(tmp_path, "good")
        bad = await client_cert(tmp_path, "stranger")
        (pki / "trusted" / "good-cert.der").write_bytes(good[1].read_bytes())
        port = free_port()
        sim = Simulation(
            load_scenario(),
            start_ms=START,
            speed=60,
            faces=FaceSettings(
                ports={"opcua": port},
                opcua_security="encrypt",
                opcua_pki=pki,
                opcua_require_trust=True,
                enabled={"opcua"},
            ),
        )
        await sim.start()
        try:
            await sim.step(START + 60_000)
            url = f"opc.tcp://127.0.0.1:{port}/fieldlab/"
            client = await secure_client(url, pki, *good)
            async with client:
                state = await client.get_node("ns=2;s=cnc-1.State").read_value()
                assert state in ("running", "setup", "idle", "fault")
            stranger = await secure_client(url, pki, *bad)
            with pytest.raises(Exception):  # noqa: B017 - asyncua raises several kinds here
                async with stranger:
                    await stranger.get_node("ns=2;s=cnc-1.State").read_value()
            plain = Client(url, timeout=5)
            with pytest.raises(Exception):  # noqa: B017 - no unencrypted endpoint is offered
                async with plain:
                    await plain.get_node("ns=2;s=cnc-1.State").read_value()
        finally:
            await sim.stop()

    asyncio.run(go())


@pytest.mark.slow
def test_the_server_certificate_is_created_once_and_reused(tmp_path):
    async def start_stop() -> bytes:
        sim = Simulation(
            load_scenario(),
            start_ms=START,
            faces=FaceSettings(
                ports={"opcua": free_port()},
                opcua_security="sign",
                opcua_pki=tmp_path,
                enabled={"opcua"},
            ),
        )
        await sim.start()
        await sim.stop()
        return (tmp_path / "server-cert.der").read_bytes()

    assert asyncio.run(start_stop()) == asyncio.run(start_stop())


FAULTS = """
site: f
start: 2026-03-02T06:00
machines:
  press-1: {archetype: press, faces: [modbus, opcua, mqtt], ideal_cycle_time_s: 6}
events:
  - "+1m press-1 face modbus exceptions 3"
"""


@pytest.mark.slow
def test_fault_injection_on_every_face(tmp_path, broker: int):
    scenario = Scenario.model_validate(yaml.safe_load(FAULTS))

    async def go(mqtt_port: int) -> None:
        ports = {"opcua": free_port(), "modbus": free_port()}
        sim = Simulation(
            scenario,
            start_ms=START,
            speed=math.inf,
            faces=FaceSettings(
                ports={"opcua": ports["opcua"], "modbus": ports["modbus"]},
                mqtt_url=f"mqtt://127.0.0.1:{mqtt_port}",
            ),
        )
        received: list[bytes] = []
        sub = mqtt.Client(CallbackAPIVersion.VERSION2)
        sub.on_message = lambda c, u, msg: received.append(msg.payload)
        sub.connect("127.0.0.1", mqtt_port)
        sub.subscribe("fieldlab/f/#", qos=1)
        sub.loop_start()
        await sim.start()
        mb = AsyncModbusTcpClient("127.0.0.1", port=ports["modbus"], timeout=3, retries=0)
        try:
            await sim.step(START + 30_000)
            await mb.connect()
            assert not (await mb.read_holding_registers(0, count=11, device_id=1)).isError()
            # scripted: at +1 min the device answers three requests with an exception
            await sim.step(START + 61_000)
            errors = [(await mb.read_holding_registers(0, count=11, device_id=1)) for _ in range(4)]
            assert [r.isError() for r in errors] == [True, True, True, False]
            assert errors[0].exception_code == 4  # device failure
            # writes are refused: the simulated device is read-only
            assert (await mb.write_register(0, 5, device_id=1)).isError()
            face = {f.name: f for f in sim.faces}
            await face["modbus"].inject("slow", ["0.6"])
            t0 = time.monotonic()
            await mb.read_holding_registers(0, count=1, device_id=1)
            assert time.monotonic() - t0 >= 0.5
            await face["modbus"].inject("fast", [])
            # OPC UA: a bad status code on the machine's values
            await face["opcua"].inject("bad_status", ["press-1"])
            async with Client(f"opc.tcp://127.0.0.1:{ports['opcua']}/fieldlab/") as client:
                dv = await client.get_node("ns=2;s=press-1.State").read_data_value(
                    raise_on_bad_status=False
                )
                assert dv.StatusCode.value == ua.StatusCodes.BadSensorFailure
            # MQTT: malformed, oversized, NaN and out-of-range payloads reach the broker
            for fault in ("malformed", "nan", "out_of_range", "oversized"):
                await face["mqtt"].inject(fault, ["2"] if fault == "malformed" else [])
            async with asyncio.timeout(10):  # the oversized payload is the last one sent
                while not any(len(p) > 1_000_000 for p in received):
                    await asyncio.sleep(0.05)
            assert b'{"ts": 1, "value": 0' in received  # cut off: not JSON
            assert b'{"ts": 1, "value": NaN}' in received
            assert b'{"ts": 1, "value": -5}' in received
            assert any(len(p) > 1_000_000 for p in received)
            # Modbus restart: the port goes away and comes back
            task = asyncio.create_task(face["modbus"].inject("restart", ["1"]))
            await asyncio.sleep(0.3)
            with pytest.raises(OSError):
                socket.create_connection(("127.0.0.1", ports["modbus"]), 0.5).close()
            await task
            socket.create_connection(("127.0.0.1", ports["modbus"]), 2).close()
        finally:
            mb.close()
            sub.loop_stop()
            sub.disconnect()
            await sim.stop()

    port = broker
    asyncio.run(go(port))


def test_opcua_username_login_refuses_anonymous_and_wrong_passwords():
    async def go() -> None:
        port = free_port()
        sim = Simulation(
            load_scenario(),
            start_ms=START,
            faces=FaceSettings(
                ports={"opcua": port},
                opcua_user="operator",
                opcua_password="s3cret",
                enabled={"opcua"},
            ),
        )
        await sim.start()
        url = f"opc.tcp://127.0.0.1:{port}/fieldlab/"
        try:
            good = Client(url, timeout=5)
            good.set_user("operator")
            good.set_password("s3cret")
            async with good:
                assert await good.get_node("ns=2;s=cnc-1.State").read_value() is not None
            for user, password in (("operator", "wrong"), (None, None)):
                bad = Client(url, timeout=5)
                if user:
                    bad.set_user(user)
                    bad.set_password(password)
                with pytest.raises(Exception):  # noqa: B017 - asyncua raises several kinds
                    async with bad:
                        await bad.get_node("ns=2;s=cnc-1.State").read_value()
        finally:
            await sim.stop()

    asyncio.run(go())
