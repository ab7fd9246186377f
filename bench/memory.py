"""Benchmark: the gateway's memory. A `fieldlab gateway` process reading 100 machines × 10
values at 1 Hz over MQTT from a real Mosquitto; its peak RSS against a bare Python process that
imports the same libraries, measured in the same run.

    fieldlab bench memory [--json]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from fieldlab.bench.base import Progress, Result
from fieldlab.bench.services import free_port, mosquitto, wait_port
from fieldlab.simulators.load import LoadSpec, start_load, stop_load

SECONDS = 20


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run(progress: Progress) -> Result:
    with tempfile.TemporaryDirectory() as tmp:
        return _run(progress, Path(tmp))


def _run(progress: Progress, tmp: Path) -> Result:
    with mosquitto() as mport:
        http = free_port()
        site = tmp / "site.yaml"
        site.write_text(
            json.dumps(
                {
                    "store": "sqlite:///mem.db",
                    "gateway": {"http": {"port": http}},
                    "sources": [
                        {"type": "mqtt", "name": "load", "url": f"mqtt://127.0.0.1:{mport}"}
                    ],
                }
            )
        )
        gw = subprocess.Popen(
            [sys.executable, "-m", "fieldlab", "gateway", "-c", str(site)],
            cwd=tmp,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        bare = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import asyncua, paho.mqtt.client, pymodbus.client, numpy, "
                "pydantic, yaml, influxdb_client, time; time.sleep(60)",
            ]
        )
        procs = []
        try:
            wait_port(http)
            procs = start_load("mqtt", LoadSpec(100, 10, 1.0), port=mport, processes=1)
            peak = 0.0
            progress(f"gateway reading 100 machines × 10 values at 1 Hz for {SECONDS} s")
            for _ in range(SECONDS):
                time.sleep(1)
                peak = max(peak, rss_mb(gw.pid))
            base = rss_mb(bare.pid)
            with urllib.request.urlopen(f"http://127.0.0.1:{http}/health", timeout=10) as r:
                report = json.load(r)
        finally:
            stop_load(procs)
            gw.terminate()
            gw.wait(30)
            bare.terminate()
            bare.wait(10)
    return {
        "machines": 100,
        "values_per_machine": 10,
        "rate_hz": 1,
        "samples_read": report["sources"][0]["samples"],
        "gateway_rss_mb": round(peak, 1),
        "bare_python_with_libraries_mb": round(base, 1),
        "ratio_vs_bare": round(peak / base, 2),
        "goals": {"gateway_rss_mb": "< 150"},
        "met": peak < 150 and report["sources"][0]["samples"] > 0,
    }


def report(r: Result) -> list[str]:
    return [
        f"memory: gateway with {r['machines']} machines × {r['values_per_machine']} values at "
        f"1 Hz: {r['gateway_rss_mb']} MB RSS (goal < 150 MB)",
        f"baseline, a bare Python with the same libraries: {r['bare_python_with_libraries_mb']} "
        f"MB ({r['ratio_vs_bare']}×); {r['samples_read']:,} samples read",
    ]
