"""Benchmark: MQTT ingest while InfluxDB is down, with 20,000 batches already queued for it
against an empty queue, same run (goal ≥ 0.9×): a long outage must not slow ingest down.

The gateway reads a real Mosquitto into an InfluxDB sink whose server is not there (a closed
loopback port), so every sample goes to the durable queue and stays there. Both runs drain the
same number of QoS 1 messages queued in Mosquitto beforehand. Beside it, the cost of one queue
append with 0 and with 20,000 batches queued.

    fieldlab bench outage [--json]
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from pathlib import Path

from fieldlab.bench import ingest_mqtt
from fieldlab.bench.base import Progress, Result
from fieldlab.bench.ingest_mqtt import TOPIC, prepare
from fieldlab.bench.services import free_port, mosquitto
from fieldlab.sinks.queue import DurableQueue

QUEUED = 20_000


def fill(path: Path, batches: int) -> None:
    """Batches as the sink queues them: 100 points of line protocol each."""
    line = b"v,machine=m1 value=1.0 1772427600000\n" * 100
    q = DurableQueue(path, max_bytes=2**40)
    for _ in range(batches):
        q.append(line, 100)
    q.close()


def append_ms(path: Path, n: int = 200) -> float:
    """Mean milliseconds of one append to the queue at `path`."""
    q = DurableQueue(path, max_bytes=2**40)
    payload = b"v,machine=m1 value=1.0 1772427600000\n" * 100
    t0 = time.perf_counter()
    for _ in range(n):
        q.append(payload, 100)
    q.close()
    return (time.perf_counter() - t0) / n * 1000


def through_gateway(port: int, client_id: str, n_samples: int, workdir: Path) -> float:
    """Samples/s into the durable queue of an InfluxDB sink whose server is not there."""
    dead = free_port()  # nothing listens: InfluxDB is down
    down = {
        "store": f"influxdb://127.0.0.1:{dead}/fieldlab",
        "sinks": [
            {
                "type": "influxdb",
                "api": "v1",
                "url": f"http://127.0.0.1:{dead}",
                "queue": {"path": "queue.db", "max_mb": 1_000_000},
            }
        ],
    }
    return ingest_mqtt.through_gateway(port, client_id, n_samples, workdir, down)


def run(progress: Progress, messages: int = 30_000) -> Result:
    logging.getLogger("fieldlab").setLevel(logging.CRITICAL)
    singles = [
        (TOPIC.format(m=i % 20), json.dumps({"ts": 1772427600000 + i, "value": i}).encode())
        for i in range(messages)
    ]
    result: Result = {"messages": messages, "queued_batches": QUEUED}
    with mosquitto() as port, tempfile.TemporaryDirectory() as tmp:
        empty, full = Path(tmp) / "empty", Path(tmp) / "full"
        empty.mkdir()
        full.mkdir()
        progress(f"queueing {QUEUED:,} batches for the dead InfluxDB")
        fill(full / "queue.db", QUEUED)
        result["append_ms_empty"] = round(append_ms(Path(tmp) / "probe-empty.db"), 4)
        fill(Path(tmp) / "probe-full.db", QUEUED)
        result["append_ms_20k_queued"] = round(append_ms(Path(tmp) / "probe-full.db"), 4)
        progress(f"{messages:,} messages through the gateway, queue empty")
        prepare(port, "outage-empty", singles)
        result["samples_per_s_empty_queue"] = round(
            through_gateway(port, "outage-empty", messages, empty)
        )
        progress(f"{messages:,} messages through the gateway, {QUEUED:,} batches queued")
        prepare(port, "outage-full", singles)
        result["samples_per_s_20k_queued"] = round(
            through_gateway(port, "outage-full", messages, full)
        )
    result["ratio_queued_vs_empty"] = round(
        result["samples_per_s_20k_queued"] / result["samples_per_s_empty_queue"], 2
    )
    result["goals"] = {"ratio_queued_vs_empty": ">= 0.9"}
    result["met"] = result["ratio_queued_vs_empty"] >= 0.9
    return result


def report(r: Result) -> list[str]:
    return [
        f"one queue append: {r['append_ms_empty']:.3f} ms empty, "
        f"{r['append_ms_20k_queued']:.3f} ms with {r['queued_batches']:,} batches queued",
        f"MQTT ingest with InfluxDB down, queue empty: {r['samples_per_s_empty_queue']:,} "
        "samples/s",
        f"the same with {r['queued_batches']:,} batches queued: "
        f"{r['samples_per_s_20k_queued']:,} samples/s = {r['ratio_queued_vs_empty']:.2f}× "
        "(goal ≥ 0.9×)",
    ]
