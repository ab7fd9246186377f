"""Benchmark: Sparkplug B DDATA through the gateway's host into SQLite against a bare paho
subscriber that decodes the same payloads (protobuf) and counts their metrics, same broker,
same run (goal ≥ 0.7×).

Both drain the same QoS 1 messages that a real Mosquitto queued for their persistent session
beforehand (an NBIRTH and DBIRTHs first, then DDATA of 10 metrics by alias for 20 devices), so
the publisher's speed does not enter the figure.

    fieldlab bench sparkplug [--json]
"""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from fieldlab.bench.base import Progress, Result
from fieldlab.bench.ingest_mqtt import drain, prepare
from fieldlab.bench.services import mosquitto
from fieldlab.connectors.sparkplug.payload import decode, encode

DEVICES, METRICS = 20, 10
T0 = 1772427600000


def payloads(n: int) -> list[tuple[str, bytes]]:
    out = [("spBv1.0/B/NBIRTH/e", encode([("bdSeq", None, 8, 0)], timestamp=T0, seq=0))]
    seq = 1
    for d in range(DEVICES):
        births = [(f"v{k}", k + 1, 10, 0.0) for k in range(METRICS)]
        out.append((f"spBv1.0/B/DBIRTH/e/d{d}", encode(births, timestamp=T0, seq=seq)))
        seq += 1
    for i in range(n):
        d = i % DEVICES
        metrics = [(None, k + 1, 10, float(i + k)) for k in range(METRICS)]
        out.append(
            (f"spBv1.0/B/DDATA/e/d{d}", encode(metrics, timestamp=T0 + 1000 * i, seq=seq % 256))
        )
        seq += 1
    return out


def bare(port: int, client_id: str, n: int) -> float:
    """Metrics/s for a plain paho subscriber that decodes every payload."""
    got = 0
    t0: float | None = None

    def on_message(c, u, msg):
        nonlocal got, t0
        if t0 is None:
            t0 = time.monotonic()
        got += len(decode(msg.payload)[2])

    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
    c.on_message = on_message
    c.connect("127.0.0.1", port)
    deadline = time.monotonic() + 300
    while got < n and time.monotonic() < deadline:
        c.loop(0.1)
    elapsed = time.monotonic() - (t0 or time.monotonic())
    c.disconnect()
    return got / elapsed if elapsed else 0.0


def through_gateway(port: int, client_id: str, n: int, workdir: Path) -> float:
    source = {
        "type": "sparkplug",
        "url": f"mqtt://127.0.0.1:{port}",
        "client_id": client_id,
        "persistent_session": True,
        "groups": ["B"],
        "machines": {
            f"m{d}": {
                "device": f"B/e/d{d}",
                "metrics": {f"v{k}": {"metric": f"v{k}"} for k in range(METRICS)},
            }
            for d in range(DEVICES)
        },
    }
    return drain(source, n, workdir)


def run(progress: Progress, messages: int = 20_000) -> Result:
    logging.getLogger("fieldlab").setLevel(logging.ERROR)
    data = payloads(messages)
    metrics = messages * METRICS + DEVICES * METRICS
    result: Result = {"messages": messages, "metrics_per_message": METRICS}
    with mosquitto() as port, tempfile.TemporaryDirectory() as tmp:
        progress(f"queueing {len(data):,} Sparkplug messages for a bare subscriber")
        prepare(port, "spb-bare", data, "spBv1.0/#")
        result["bare_metrics_per_s"] = round(bare(port, "spb-bare", metrics))
        progress("the same messages through the gateway's Sparkplug host into SQLite")
        prepare(port, "spb-gw", data, "spBv1.0/#")
        result["gateway_samples_per_s"] = round(through_gateway(port, "spb-gw", metrics, Path(tmp)))
    result["ratio_vs_bare"] = round(
        result["gateway_samples_per_s"] / result["bare_metrics_per_s"], 2
    )
    result["goals"] = {"ratio_vs_bare": ">= 0.7"}
    result["met"] = result["ratio_vs_bare"] >= 0.7
    return result


def report(r: Result) -> list[str]:
    return [
        f"bare paho subscriber decoding Sparkplug B: {r['bare_metrics_per_s']:,} metrics/s",
        f"gateway Sparkplug host → SQLite: {r['gateway_samples_per_s']:,} samples/s "
        f"= {r['ratio_vs_bare']:.2f}× (goal ≥ 0.7×)",
    ]
