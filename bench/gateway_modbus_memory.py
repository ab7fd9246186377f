"""Benchmarks: Modbus request planning and the gateway's memory.

modbus: 50 devices × 100 registers (50 FLOAT32 fields each) on a real pymodbus server (the
simulators' load mode), polled by the gateway's connector for a few seconds; requests per poll
and poll time against one request per field, measured in the same process.

memory: a `fieldlab gateway` process reading 100 machines × 10 values at 1 Hz over MQTT from a
real Mosquitto; its RSS against a bare Python process that imports the same libraries.

    python -m bench.gateway_modbus_memory [modbus|memory|all] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

from pymodbus.client import AsyncModbusTcpClient

from edge.connectors.base import Batch, ConnectorContext, SourceHealth
from edge.connectors.modbus import Config, ModbusConnector
from simulators.load import LoadSpec, start_load
from tests.services import free_port, mosquitto, wait_port

DEVICES, FIELDS = 50, 50


def modbus() -> dict[str, float]:
    port = free_port()
    procs = start_load("modbus", LoadSpec(DEVICES, FIELDS, 1.0), port=port, processes=1)
    try:
        wait_port(port)
        cfg = Config.model_validate(
            {
                "type": "modbus",
                "name": "bench",
                "host": "127.0.0.1",
                "port": port,
                "poll_interval_ms": 1000,
                "timeout_s": 2,
                "devices": [
                    {
                        "unit": d + 1,
                        "machine": f"load-{d}",
                        "fields": {
                            f"v{f}": {"address": 2 * f, "type": "FLOAT32"} for f in range(FIELDS)
                        },
                    }
                    for d in range(DEVICES)
                ],
            }
        )
        conn = ModbusConnector(cfg)
        planned = sum(len(d.requests) for d in conn.devices)

        async def run() -> tuple[float, int, int, float]:
            got = 0

            async def emit(batch: Batch) -> None:
                nonlocal got
                got += len(batch.samples)

            ctx = ConnectorContext(
                "bench", emit, SourceHealth("bench", "modbus"), logging.getLogger("bench")
            )
            client = AsyncModbusTcpClient(
                "127.0.0.1", port=port, timeout=2, retries=0, reconnect_delay=0
            )
            await client.connect()
            times = []
            for _ in range(5):
                t0 = time.perf_counter()
                await conn._poll_once(client, ctx)
                times.append(time.perf_counter() - t0)
            polled = sum(times) / len(times)
            # baseline: one request per field, same server, same process
            t0 = time.perf_counter()
            for d in range(DEVICES):
                for f in range(FIELDS):
                    await client.read_holding_registers(2 * f, count=2, device_id=d + 1)
            per_field = time.perf_counter() - t0
            client.close()
            return polled, conn.requests_sent // 5, got, per_field

        poll_s, requests, samples, per_field_s = asyncio.run(run())
    finally:
        for p in procs:
            p.terminate()
            p.join(10)
    fields = DEVICES * FIELDS
    return {
        "devices": DEVICES,
        "registers_per_device": 2 * FIELDS,
        "fields": fields,
        "requests_per_poll": requests,
        "planned_requests": planned,
        "requests_ratio_vs_per_field": round(fields / requests, 1),
        "poll_s": round(poll_s, 3),
        "per_field_poll_s": round(per_field_s, 3),
        "time_ratio_vs_per_field": round(per_field_s / poll_s, 1),
        "cycle_s": 1.0,
        "overruns": int(poll_s > 1.0),
    }


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def memory(tmp: Path) -> dict[str, float]:
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
            [sys.executable, "-m", "edge.cli.main", "gateway", "-c", str(site)],
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
            for _ in range(20):
                time.sleep(1)
                peak = max(peak, rss_mb(gw.pid))
            base = rss_mb(bare.pid)
            with urllib_open(f"http://127.0.0.1:{http}/health") as r:
                report = json.load(r)
        finally:
            for p in procs:
                p.terminate()
                p.join(10)
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
        "goal_mb": 150,
    }


def urllib_open(url: str):  # type: ignore[no-untyped-def]
    import urllib.request

    return urllib.request.urlopen(url, timeout=10)


def main() -> None:
    import tempfile

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("which", nargs="?", default="all", choices=("modbus", "memory", "all"))
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    out: dict[str, dict[str, float]] = {}
    if args.which in ("modbus", "all"):
        out["modbus"] = modbus()
    if args.which in ("memory", "all"):
        with tempfile.TemporaryDirectory() as tmp:
            out["memory"] = memory(Path(tmp))
    if args.json:
        print(json.dumps(out))
        return
    if "modbus" in out:
        m = out["modbus"]
        print(
            f"modbus: {m['devices']} devices × {m['registers_per_device']} registers = "
            f"{m['fields']} fields: {m['requests_per_poll']} requests per poll "
            f"({m['requests_ratio_vs_per_field']}× fewer than one per field, goal ≥ 10×); "
            f"poll {m['poll_s']:.3f} s vs {m['per_field_poll_s']:.3f} s per field "
            f"({m['time_ratio_vs_per_field']}×), cycle 1 s, overruns {m['overruns']}"
        )
    if "memory" in out:
        m = out["memory"]
        print(
            f"memory: gateway with {m['machines']} machines × {m['values_per_machine']} values "
            f"at 1 Hz: {m['gateway_rss_mb']} MB RSS (goal < 150 MB); bare Python with the "
            f"same libraries {m['bare_python_with_libraries_mb']} MB "
            f"({m['ratio_vs_bare']}×); {m['samples_read']:,} samples read"
        )


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
