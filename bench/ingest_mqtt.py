"""Benchmark: MQTT → SQLite through the gateway against a bare paho subscriber, same broker,
same run (goal ≥ 0.8×), and batched payloads (goal ≥ 100k samples/s).

Both sides drain the same number of QoS 1 messages that a real Mosquitto queued for their
persistent session beforehand, so the publisher's speed does not enter the figure.

    fieldlab bench ingest-mqtt [--json]
"""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from fieldlab.bench.base import Progress, Result
from fieldlab.bench.services import mosquitto
from fieldlab.gateway.config import parse_gateway_config
from fieldlab.gateway.run import Gateway

TOPIC = "fieldlab/bench/area/m{m}/v"


def prepare(
    port: int, client_id: str, payloads: list[tuple[str, bytes]], topics: str = "fieldlab/bench/#"
) -> None:
    """Make a persistent session for client_id with a subscription, then queue the payloads."""
    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
    sub.connect("127.0.0.1", port)
    sub.subscribe(topics, qos=1)
    sub.loop(2)
    sub.disconnect()
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{client_id}-pub")
    pub.max_inflight_messages_set(100)
    pub.connect("127.0.0.1", port)
    pub.loop_start()
    infos = [pub.publish(t, p, qos=1) for t, p in payloads]
    for info in infos:
        info.wait_for_publish(120)
    pub.loop_stop()
    pub.disconnect()


def bare_paho(port: int, client_id: str, n: int) -> float:
    """Messages/s for a plain paho subscriber that parses every payload (json.loads)."""
    got = 0
    t0: float | None = None
    done = time.monotonic

    def on_message(c, u, msg):
        nonlocal got, t0
        if t0 is None:
            t0 = done()
        json.loads(msg.payload)
        got += 1

    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
    c.on_message = on_message
    c.connect("127.0.0.1", port)
    deadline = time.monotonic() + 300
    while got < n and time.monotonic() < deadline:
        c.loop(0.1)
    elapsed = done() - (t0 or done())
    c.disconnect()
    return got / elapsed if elapsed else 0.0


def through_gateway(
    port: int,
    client_id: str,
    n_samples: int,
    workdir: Path,
    sinks: dict | None = None,
    health: dict | None = None,
) -> float:
    """Samples/s from first message to the last one committed (to SQLite, or to `sinks`: more
    site keys, as the outage and alerts benchmarks give); `health` gets the /health report."""
    source = {
        "type": "mqtt",
        "name": "bench",
        "url": f"mqtt://127.0.0.1:{port}",
        "client_id": client_id,
        "protocol": "3.1.1",
        "topics": [{"template": "fieldlab/bench/{area}/{machine}/{signal}"}],
    }
    return drain(source, n_samples, workdir, sinks, health)


def drain(
    source: dict,
    n_samples: int,
    workdir: Path,
    sinks: dict | None = None,
    health: dict | None = None,
) -> float:
    """A gateway with this one source drains what is queued for it: samples/s from the first
    committed sample until `n_samples` are."""
    site, cfg = parse_gateway_config(
        json.dumps(
            {
                "store": "sqlite:///bench.db",
                **(sinks or {}),
                "sources": [source],
                "gateway": {"http": {"port": 0}},
            }
        )
    )
    gw = Gateway(site, cfg, workdir)

    async def go() -> float:
        task = asyncio.create_task(gw.run())
        while gw.pipeline is None or gw.pipeline.stats.samples == 0:
            await asyncio.sleep(0.001)
        t0 = time.monotonic()
        deadline = t0 + 300
        while gw.pipeline.stats.samples < n_samples and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        elapsed = time.monotonic() - t0
        if health is not None:
            health.update(gw.health_report())
        gw.request_stop()
        await task
        return gw.pipeline.stats.samples / elapsed

    return asyncio.run(go())


def run(progress: Progress, messages: int = 50_000, batched: str = "2000x100") -> Result:
    logging.getLogger("fieldlab").setLevel(logging.ERROR)
    n = messages
    singles = [
        (TOPIC.format(m=i % 20), json.dumps({"ts": 1772427600000 + i, "value": i}).encode())
        for i in range(n)
    ]
    bm, per = (int(x) for x in batched.split("x"))
    batches = [
        (
            TOPIC.format(m=i % 20),
            json.dumps(
                [{"ts": 1772427600000 + i * per + k, "value": k} for k in range(per)]
            ).encode(),
        )
        for i in range(bm)
    ]
    result: Result = {"messages": n, "batched_messages": bm, "samples_per_batched_message": per}
    with mosquitto() as port, tempfile.TemporaryDirectory() as tmp:
        progress(f"queueing {n:,} QoS 1 messages in Mosquitto for a bare paho subscriber")
        prepare(port, "bare", singles)
        result["bare_paho_msgs_per_s"] = round(bare_paho(port, "bare", n))
        progress("the same messages through the gateway into SQLite")
        prepare(port, "gw-single", singles)
        result["gateway_samples_per_s"] = round(
            through_gateway(port, "gw-single", n, Path(tmp) / "a")
        )
        progress(f"{bm:,} batched messages × {per} samples through the gateway")
        prepare(port, "gw-batched", batches)
        result["gateway_batched_samples_per_s"] = round(
            through_gateway(port, "gw-batched", bm * per, Path(tmp) / "b")
        )
    result["ratio_vs_bare_paho"] = round(
        result["gateway_samples_per_s"] / result["bare_paho_msgs_per_s"], 2
    )
    result["goals"] = {"ratio_vs_bare_paho": ">= 0.8", "gateway_batched_samples_per_s": ">= 100000"}
    result["met"] = (
        result["ratio_vs_bare_paho"] >= 0.8 and result["gateway_batched_samples_per_s"] >= 100_000
    )
    return result


def report(r: Result) -> list[str]:
    return [
        f"bare paho subscriber (QoS 1, json.loads): {r['bare_paho_msgs_per_s']:,} msg/s",
        f"gateway MQTT → SQLite, one sample/message: {r['gateway_samples_per_s']:,} samples/s "
        f"= {r['ratio_vs_bare_paho']:.2f}× bare paho (goal ≥ 0.8×)",
        f"gateway, batched payloads ({r['samples_per_batched_message']}/message): "
        f"{r['gateway_batched_samples_per_s']:,} samples/s (goal ≥ 100,000)",
    ]
