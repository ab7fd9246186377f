"""`fieldlab demo` from the package alone: embedded broker, simulators on all three protocols,
gateway, SQLite and dashboard; `--for … --no-browser` stops by itself, then the store has OEE
for every default machine."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request

from simulators.scenario import load_scenario
from tests.services import Process, listening


def test_demo_brings_everything_up_and_fills_the_store(tmp_path):
    workdir = tmp_path / "demo"
    with Process(
        "demo", "--workdir", str(workdir), "--for", "30s", "--no-browser", "--history", "4h"
    ) as demo:
        ready = demo.wait_for("fieldlab demo: ready in", 60)
        assert float(re.search(r"ready in ([\d.]+) s", ready)[1]) < 20
        url = demo.wait_for("dashboard  http://")
        dashboard = url.split()[-1]
        # every server the demo starts (broker, OPC UA, Modbus, gateway /health, dashboard)
        # binds loopback only
        deadline = time.monotonic() + 20
        while len(bound := listening(demo.proc.pid)) < 5 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert len(bound) >= 5, bound
        assert {addr for addr, _ in bound} <= {"127.0.0.1", "::1"}, bound
        deadline = time.monotonic() + 30
        while True:  # the dashboard answers
            try:
                with urllib.request.urlopen(f"{dashboard}/_stcore/health", timeout=2) as r:
                    assert r.read().strip() == b"ok"
                    break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.5)
        assert demo.proc.wait(90) == 0, demo.output
    assert "Traceback" not in demo.output
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "edge.cli.main",
            "oee",
            "-c",
            str(workdir / "site.yaml"),
            "--from",
            "now",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2  # --from now: an empty window is refused, with a message
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "edge.cli.main",
            "oee",
            "-c",
            str(workdir / "site.yaml"),
            "--from",
            str(int(time.time() * 1000) - 3 * 3_600_000),  # inside the 4 h of history
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    results = {r["machine"]: r for r in json.loads(out.stdout)}
    assert set(results) == set(load_scenario().machines)
    for machine, r in results.items():
        assert r["oee"] is not None and 0.2 < r["oee"] < 1.0, (machine, r["oee"])
        assert r["total"] > 0, machine
