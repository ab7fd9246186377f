"""Benchmark: Modbus request planning. 50 devices × 100 registers (50 FLOAT32 fields each) on
a real pymodbus server (the simulators' load mode), polled by the gateway's connector; requests
per poll and poll time against one request per field, measured in the same process, and against
the 1 s poll cycle (overruns counted).

    fieldlab bench modbus [--json]
"""

from __future__ import annotations

import asyncio
import logging
import time

from pymodbus.client import AsyncModbusTcpClient

from fieldlab.bench.base import Progress, Result
from fieldlab.bench.services import free_port, wait_port
from fieldlab.connectors.base import ConnectorContext, SourceHealth
from fieldlab.connectors.modbus.connector import Config, ModbusConnector
from fieldlab.domain.rejected import Rejected
from fieldlab.domain.samples import Sample
from fieldlab.simulators.load import LoadSpec, start_load, stop_load

DEVICES, FIELDS, POLLS = 50, 50, 10


def run(progress: Progress) -> Result:
    port = free_port()
    procs = start_load("modbus", LoadSpec(DEVICES, FIELDS, 1.0), port=port, processes=1)
    try:
        wait_port(port)
        progress("pymodbus load server up")
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

        async def measure() -> tuple[float, int, int, float, int]:
            got = 0

            async def emit(samples: list[Sample], rejected: list[Rejected], /, **_: object) -> None:
                nonlocal got
                got += len(samples)

            ctx = ConnectorContext(
                "bench", emit, SourceHealth("bench", "modbus"), logging.getLogger("bench")
            )
            client = AsyncModbusTcpClient(
                "127.0.0.1", port=port, timeout=2, retries=0, reconnect_delay=0
            )
            await client.connect()
            times = []
            for _ in range(POLLS):
                t0 = time.perf_counter()
                await conn.poll_once(client, ctx)
                times.append(time.perf_counter() - t0)
            polled = sum(times) / len(times)
            overruns = sum(t > 1.0 for t in times)
            # baseline: one request per field, same server, same process
            t0 = time.perf_counter()
            for d in range(DEVICES):
                for f in range(FIELDS):
                    await client.read_holding_registers(2 * f, count=2, device_id=d + 1)
            per_field = time.perf_counter() - t0
            client.close()
            return polled, conn.requests_sent // POLLS, got, per_field, overruns

        progress(
            f"polling {DEVICES} devices × {2 * FIELDS} registers {POLLS} times, "
            "then one request per field"
        )
        poll_s, requests, samples, per_field_s, overruns = asyncio.run(measure())
    finally:
        stop_load(procs)
    fields = DEVICES * FIELDS
    result: Result = {
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
        "polls": POLLS,
        "overruns": overruns,
        "goals": {"requests_ratio_vs_per_field": ">= 10", "overruns": "== 0"},
    }
    result["met"] = result["requests_ratio_vs_per_field"] >= 10 and overruns == 0
    return result


def report(r: Result) -> list[str]:
    return [
        f"modbus: {r['devices']} devices × {r['registers_per_device']} registers = "
        f"{r['fields']:,} fields: {r['requests_per_poll']} requests per poll "
        f"({r['requests_ratio_vs_per_field']}× fewer than one per field, goal ≥ 10×)",
        f"poll {r['poll_s']:.3f} s vs {r['per_field_poll_s']:.3f} s one request per field "
        f"({r['time_ratio_vs_per_field']}×); cycle {r['cycle_s']:.0f} s, "
        f"overruns {r['overruns']} of {r['polls']} polls (goal 0)",
    ]
