"""The simulator's three faces, read by clients none of us wrote: asyncua's `uals`/`uaread`,
Debian's `mbpoll` and `mosquitto_sub`, against a `fieldlab sim` process and a real Mosquitto."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fieldlab.domain.samples import sample_from_mapping
from fieldlab.simulators.register_map import STATE_CODES
from tests.services import Process, free_port, mosquitto, require
from tests.sim_gateway import sim_process

#: its tests share a module fixture: one worker runs them all (make test: --dist loadgroup)
pytestmark = pytest.mark.xdist_group("sim-faces")

BIN = Path(sys.executable).parent


def mbpoll(port: int, unit: int, ref: int, count: int, kind: str = "4") -> list[float]:
    out = subprocess.run(
        [
            require("mbpoll"),
            "-m",
            "tcp",
            "-p",
            str(port),
            "-a",
            str(unit),
            "-r",
            str(ref),
            "-c",
            str(count),
            "-t",
            kind,
            "-1",
            "127.0.0.1",
        ],
        capture_output=True,
        text=True,
        timeout=20,
    )
    values = re.findall(r"^\[(\d+)\]:\s+(-?[\d.e+-]+)", out.stdout, re.M)
    assert values, out.stdout + out.stderr
    return [float(v) for _, v in values]


def truth_at(path: Path, machine: str, sim_ms: int) -> dict[str, object]:
    last: dict[str, object] = {}
    for line in path.read_text().splitlines():
        s = sample_from_mapping(json.loads(line))
        if s.machine == machine and s.ts <= sim_ms:
            last[s.signal] = s.value
    return last


@pytest.fixture(scope="module")
def running_sim(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sim")
    with mosquitto() as mqtt_port:
        ports = {"opcua": free_port(), "modbus": free_port(), "mqtt": mqtt_port}
        truth = tmp / "truth.jsonl"
        with sim_process(ports, mqtt_port, "--truth", str(truth), cwd=tmp) as proc:
            proc.wait_for("serving mqtt://", 90)
            time.sleep(2)  # a minute of simulated time
            yield proc, ports, truth


@pytest.mark.slow
def test_mosquitto_sub_receives_the_topics(running_sim):
    _, ports, _ = running_sim
    out = subprocess.run(
        [
            require("mosquitto_sub"),
            "-p",
            str(ports["mqtt"]),
            "-t",
            "fieldlab/#",
            "-v",
            "-C",
            "30",
            "-W",
            "10",
        ],
        capture_output=True,
        text=True,
        timeout=20,
    )
    lines = out.stdout.splitlines()
    assert len(lines) == 30
    topics = {line.split(" ", 1)[0] for line in lines}
    assert any(t.startswith("fieldlab/demo/packaging/filler-1/") for t in topics)
    for line in lines:
        payload = json.loads(line.split(" ", 1)[1])
        assert set(payload) == {"ts", "value"} and isinstance(payload["ts"], int)
    # state is retained: a late subscriber learns it at once
    retained = subprocess.run(
        [
            require("mosquitto_sub"),
            "-p",
            str(ports["mqtt"]),
            "-t",
            "fieldlab/demo/packaging/filler-1/state",
            "-C",
            "1",
            "-W",
            "5",
            "--retained-only",
        ],
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert json.loads(retained.stdout)["value"] in STATE_CODES


def test_uals_and_uaread_browse_and_read_the_opcua_face(running_sim):
    _, ports, _ = running_sim
    url = f"opc.tcp://127.0.0.1:{ports['opcua']}/fieldlab/"
    browse = subprocess.run(
        [str(BIN / "uals"), "-u", url, "-n", "ns=2;s=cnc-1"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    for name in (
        "State",
        "Reason",
        "CountTotal",
        "CountGood",
        "CountScrap",
        "Product",
        "spindle_load_pct",
        "power_kw",
        "PackMLState",
    ):
        assert f"ns=2;s=cnc-1.{name}" in browse.stdout, browse.stdout + browse.stderr
    read = subprocess.run(
        [str(BIN / "uaread"), "-u", url, "-n", "ns=2;s=imm-1.State"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert read.stdout.strip().splitlines()[-1] in STATE_CODES


def test_mbpoll_reads_the_documented_register_map(running_sim):
    proc, ports, truth = running_sim
    proc.signal(signal.SIGUSR1)  # pause: registers and truth stand still
    time.sleep(0.5)
    try:
        regs = mbpoll(ports["modbus"], 1, 1, 11)  # press-1, addresses 0..10
        sim_ms = (int(regs[8]) * 65536 + int(regs[9])) * 1000 + int(regs[10])
        expect = truth_at(truth, "press-1", sim_ms)
        assert int(regs[0]) == STATE_CODES[expect["state"]]
        assert int(regs[2]) == expect["count_total"] % 65536
        assert int(regs[3]) == expect["count_good"] % 65536
        assert int(regs[4]) == expect["count_scrap"] % 65536
        assert int(regs[5]) == ["A-100", "B-200"].index(expect["product"]) + 1
        assert int(regs[6]) * 65536 + int(regs[7]) == expect["count_total"]
        # The lathe's energy meter: FLOAT32 power with the low word first (mbpoll's default).
        lathe = truth_at(truth, "lathe-1", sim_ms)
        power = mbpoll(ports["modbus"], 2, 1, 1, "4:float")[0]
        assert power == pytest.approx(lathe["power_kw"], rel=1e-5)
        pulses = mbpoll(ports["modbus"], 2, 5, 1)[0]
        assert int(pulses) == lathe["count_total"] % 65536
    finally:
        proc.signal(signal.SIGUSR1)


def test_sim_stops_cleanly_on_sigterm(tmp_path):
    with Process(
        "sim",
        "--speed",
        "60",
        "--faces",
        "modbus",
        "--modbus-port",
        str(free_port()),
        "--truth",
        str(tmp_path / "t.jsonl"),
        "-q",
    ) as proc:
        proc.wait_for("serving modbus://127.0.0.1")
        code = proc.stop()
    assert code == 0
    assert "stopped at simulated" in proc.output
    assert "Traceback" not in proc.output
    assert (tmp_path / "t.jsonl").stat().st_size > 0


def test_sim_says_clearly_when_a_port_is_taken(tmp_path):
    port = free_port()
    with Process("sim", "--faces", "modbus", "--modbus-port", str(port), "-q") as first:
        first.wait_for("serving modbus://")
        with Process("sim", "--faces", "modbus", "--modbus-port", str(port), "-q") as second:
            assert second.proc.wait(30) == 2
            assert f"port {port} on 127.0.0.1 is taken" in second.output
            assert "--modbus-port" in second.output
