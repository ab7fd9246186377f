"""`fieldlab discover` against the simulator's faces: OPC UA nodes, Modbus decoding, MQTT topics."""

from __future__ import annotations

import pytest
import yaml

from fieldlab.gateway.config import parse_gateway_config
from tests.services import fieldlab, free_port, mosquitto
from tests.sim_gateway import sim_process

#: its tests share a module fixture: one worker runs them all (make test: --dist loadgroup)
pytestmark = pytest.mark.xdist_group("discover")


@pytest.fixture(scope="module")
def sim():
    with mosquitto() as mqtt_port:
        ports = {"opcua": free_port(), "modbus": free_port(), "mqtt": mqtt_port}
        with sim_process(ports, mqtt_port) as proc:
            proc.wait_for("serving mqtt://", 90)
            yield ports


def test_discover_opcua_lists_nodes_and_writes_a_config_that_loads(sim, tmp_path):
    url = f"opc.tcp://127.0.0.1:{sim['opcua']}/fieldlab/"
    out = fieldlab(
        "discover", "opcua", url, "--machine", "cnc-1", "--write-config", str(tmp_path / "src.yaml")
    )
    assert out.returncode == 0, out.stderr
    assert "ns=2;s=cnc-1.State" in out.stdout and "urn:fieldlab-kit:simulator" in out.stdout
    snippet = yaml.safe_load((tmp_path / "src.yaml").read_text())
    signals = snippet["sources"][0]["machines"]["cnc-1"]
    assert signals["state"]["node"].startswith("nsu=urn:fieldlab-kit:simulator;")
    parse_gateway_config(yaml.safe_dump(snippet))  # a valid gateway config as it stands
    assert out.stderr == ""


def test_discover_modbus_shows_every_order(sim):
    out = fieldlab(
        "discover",
        "modbus",
        f"127.0.0.1:{sim['modbus']}",
        "--unit",
        "2",
        "--from",
        "0",
        "--count",
        "4",
    )
    assert out.returncode == 0, out.stderr
    header = out.stdout.splitlines()[2]
    assert all(o in header for o in ("ABCD", "CDAB", "BADC", "DCBA"))
    first = out.stdout.splitlines()[4]  # address 0: the lathe's power, FLOAT32 CDAB
    cdab_float = float(first.split()[4 + 5])  # after addr/hex/u16/i16: ABCD u32 i32 f32, CDAB …
    assert 0.0 <= cdab_float < 10.0
    bad = fieldlab(
        "discover",
        "modbus",
        f"127.0.0.1:{sim['modbus']}",
        "--unit",
        "1",
        "--from",
        "30",
        "--count",
        "10",
    )
    assert bad.returncode == 2 and "exception 2" in bad.stderr


def test_discover_mqtt_lists_topics_and_suggests_a_template(sim):
    out = fieldlab("discover", "mqtt", f"mqtt://127.0.0.1:{sim['mqtt']}", "--for", "2s")
    assert out.returncode == 0, out.stderr
    assert "fieldlab/demo/packaging/filler-1/state" in out.stdout
    assert "JSON object keys ts,value" in out.stdout
    assert "suggested topic template: fieldlab/demo/+/{machine}/{signal}" in out.stdout


def test_discover_s7_shows_a_data_block_in_every_type():
    """Against python-snap7's own server with a DB laid out by hand: the INT at 0, the REAL at
    4, the UDINT at 8 and the bits of byte 12 are each found in their column."""
    import struct

    from snap7.server import Server
    from snap7.type import SrvArea

    db = bytearray(16)
    db[0:2] = struct.pack(">h", -7)
    db[4:8] = struct.pack(">f", 231.5)
    db[8:12] = struct.pack(">I", 4_000_000_000)
    db[12] = 0b0000_0101
    port = free_port()
    server = Server(log=False)
    server.register_area(SrvArea.DB, 10, db)
    server.start_to("127.0.0.1", port)
    try:
        out = fieldlab("discover", "s7", f"127.0.0.1:{port}", "--db", "10", "--count", "16")
        missing = fieldlab("discover", "s7", f"127.0.0.1:{port}", "--db", "99")
    finally:
        server.stop()
        server.destroy()
    assert out.returncode == 0, out.stderr
    rows = {
        line.split()[0]: line.split()
        for line in out.stdout.splitlines()
        if line.startswith("DB10.")
    }
    assert rows["DB10.DBB0"][4] == "-7"  # INT
    assert float(rows["DB10.DBB4"][-1]) == 231.5  # REAL
    assert rows["DB10.DBB8"][-2] == "4000000000"  # UDINT
    assert rows["DB10.DBB12"][3] == "00000101"  # bits 7..0
    assert missing.returncode == 2 and "DB99" in missing.stderr, missing.stderr


@pytest.mark.parametrize(
    "args, expected",
    [
        (["opcua", "opc.tcp//127.0.0.1:4840"], "expected a URL like opc.tcp://"),
        (["opcua", "opc.tcp://127.0.0.1:48a0"], "port must be a number"),
        (["mqtt", "127.0.0.1:1883"], "expected a URL like mqtt://"),
        (["modbus", "127.0.0.1:99999"], "HOST or HOST:PORT"),
        (["s7", "s7://plc", "--db", "1"], "expected HOST or HOST:PORT"),
        (["opcua", f"opc.tcp://127.0.0.1:{free_port()}"], "Connect call failed"),
    ],
)
def test_discover_says_what_is_wrong_in_one_line_never_a_traceback(args, expected):
    """A malformed address (asyncua printed its traceback for `opc.tcp//host:4840`) or a
    device that is not there: one line and exit 2."""
    out = fieldlab("discover", *args, timeout=30)
    assert out.returncode == 2, out
    assert "Traceback" not in out.stderr + out.stdout, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], lines
