"""Benchmark: MQTT → SQLite through the gateway against a bare paho subscriber, same broker,
same run (goal ≥ 0.8×), and batched payloads (goal ≥ 100k samples/s).

Both sides drain the same number of QoS 1 messages that a real Mosquitto queued for their
persistent session beforehand, so the publisher's speed does not enter the figure.

    python -m bench.mqtt_ingest [--messages 50000] [--batched 2000x100] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import tempfile
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge.gateway.config import parse_gateway_config
from edge.gateway.run import Gateway
from tests.services import mosquitto

TOPIC = "fieldlab/bench/area/m{m}/v"


def prepare(port: int, client_id: str, payloads: list[tuple[str, bytes]]) -> None:
    """Make a persistent session for client_id with a subscription, then queue the payloads."""
    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
    sub.connect("127.0.0.1", port)
    sub.subscribe("fieldlab/bench/#", qos=1)
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

    def on_message(c, u, msg):  # type: ignore[no-untyped-def]
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


def through_gateway(port: int, client_id: str, n_samples: int, workdir: Path) -> float:
    """Samples/s from first message to the last one committed to SQLite."""
    site, cfg = parse_gateway_config(
        json.dumps(
            {
                "store": "sqlite:///bench.db",
                "sources": [
                    {
                        "type": "mqtt",
                        "name": "bench",
                        "url": f"mqtt://127.0.0.1:{port}",
                        "client_id": client_id,
                        "protocol": "3.1.1",
                        "topics": [{"template": "fieldlab/bench/{area}/{machine}/{signal}"}],
                    }
                ],
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
        gw.request_stop()
        await task
        return gw.pipeline.stats.samples / elapsed

    return asyncio.run(go())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=50_000)
    ap.add_argument("--batched", default="2000x100", help="messages x samples per message")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    n = args.messages
    singles = [
        (TOPIC.format(m=i % 20), json.dumps({"ts": 1772427600000 + i, "value": i}).encode())
        for i in range(n)
    ]
    bm, per = (int(x) for x in args.batched.split("x"))
    batches = [
        (
            TOPIC.format(m=i % 20),
            json.dumps(
                [{"ts": 1772427600000 + i * per + k, "value": k} for k in range(per)]
            ).encode(),
        )
        for i in range(bm)
    ]
    result: dict[str, float] = {}
    with mosquitto() as port, tempfile.TemporaryDirectory() as tmp:
        prepare(port, "bare", singles)
        result["bare_paho_msgs_per_s"] = bare_paho(port, "bare", n)
        prepare(port, "gw-single", singles)
        result["gateway_samples_per_s"] = through_gateway(port, "gw-single", n, Path(tmp) / "a")
        prepare(port, "gw-batched", batches)
        result["gateway_batched_samples_per_s"] = through_gateway(
            port, "gw-batched", bm * per, Path(tmp) / "b"
        )
    result["ratio_vs_bare_paho"] = result["gateway_samples_per_s"] / result["bare_paho_msgs_per_s"]
    result = {k: round(v, 2) for k, v in result.items()}
    if args.json:
        print(json.dumps(result))
        return
    print(f"bare paho subscriber (QoS 1, json.loads): {result['bare_paho_msgs_per_s']:,.0f} msg/s")
    print(
        f"gateway MQTT → SQLite, one sample/message: {result['gateway_samples_per_s']:,.0f} "
        f"samples/s = {result['ratio_vs_bare_paho']:.2f}× bare paho (goal ≥ 0.8×)"
    )
    print(
        f"gateway, batched payloads ({per}/message): "
        f"{result['gateway_batched_samples_per_s']:,.0f} samples/s (goal ≥ 100,000)"
    )


if __name__ == "__main__":
    main()
