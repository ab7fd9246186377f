"""Benchmark: MQTT ingest with alert rules firing and clearing all the time into two broken
channels (one refuses connections, one accepts and never answers), against the same rules into
a working webhook, same run (goal ≥ 0.9×): a dead channel must not slow ingest. Beside it, the
same messages without any rule: what the rules themselves cost.

Every machine's value crosses the rule's limit every 2,000 messages, so 20 machines make a few
hundred alert events, each stored and queued for the channels, which retry and give up.

    fieldlab bench alerts [--json]
"""

from __future__ import annotations

import json
import logging
import socket
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from fieldlab.bench import ingest_mqtt
from fieldlab.bench.base import Progress, Result
from fieldlab.bench.ingest_mqtt import TOPIC, prepare
from fieldlab.bench.services import free_port, mosquitto


@contextmanager
def webhook() -> Iterator[int]:
    """A local receiver that answers every POST at once (a working channel)."""

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # http.server's name
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield srv.server_address[1]
    finally:
        srv.shutdown()
        srv.server_close()


def rules(channels: dict) -> dict:
    return {
        "alerts": {
            "channels": channels,
            "rules": [
                {
                    "name": "boven",
                    "when": "value_outside",
                    "signal": "v",
                    "max": 0.5,
                    "clear_min": 0,
                    "renotify_min": None,
                }
            ],
        }
    }


def run(progress: Progress, messages: int = 50_000) -> Result:
    logging.getLogger("fieldlab").setLevel(logging.CRITICAL)
    payloads = [
        (
            TOPIC.format(m=i % 20),
            json.dumps({"ts": 1772427600000 + i * 1000, "value": (i // 2000) % 2}).encode(),
        )
        for i in range(messages)
    ]
    result: Result = {"messages": messages}
    hanging = socket.socket()
    hanging.bind(("127.0.0.1", 0))
    hanging.listen(100)
    broken = rules(
        {
            "refused": {"url": f"json://127.0.0.1:{free_port()}/hook"},
            "hanging": {"url": f"json://127.0.0.1:{hanging.getsockname()[1]}/hook"},
        }
    )
    health: dict = {}
    try:
        with mosquitto() as port, tempfile.TemporaryDirectory() as tmp, webhook() as hook:
            progress(f"{messages:,} messages through the gateway, no alert rules")
            prepare(port, "plain", payloads)
            result["samples_per_s_no_alerts"] = round(
                ingest_mqtt.through_gateway(port, "plain", messages, Path(tmp) / "a")
            )
            progress("the same with rules firing into a working webhook")
            prepare(port, "working", payloads)
            working = rules({"hook": {"url": f"json://127.0.0.1:{hook}/hook"}})
            result["samples_per_s_working_channel"] = round(
                ingest_mqtt.through_gateway(port, "working", messages, Path(tmp) / "b", working)
            )
            progress("the same with rules firing into a refusing and a hanging channel")
            prepare(port, "broken", payloads)
            result["samples_per_s_broken_channels"] = round(
                ingest_mqtt.through_gateway(
                    port, "broken", messages, Path(tmp) / "c", broken, health
                )
            )
    finally:
        hanging.close()
    report = health.get("alerts", {})
    result["alert_events"] = sum(report.get("events", {}).values())
    result["failed_sends"] = sum(c["failed"] for c in report.get("channels", {}).values())
    result["ratio_broken_vs_working"] = round(
        result["samples_per_s_broken_channels"] / result["samples_per_s_working_channel"], 2
    )
    result["ratio_rules_vs_none"] = round(
        result["samples_per_s_working_channel"] / result["samples_per_s_no_alerts"], 2
    )
    result["goals"] = {"ratio_broken_vs_working": ">= 0.9"}
    result["met"] = result["ratio_broken_vs_working"] >= 0.9 and result["alert_events"] > 0
    return result


def report(r: Result) -> list[str]:
    return [
        f"MQTT ingest without alert rules: {r['samples_per_s_no_alerts']:,} samples/s",
        f"with rules firing into a working webhook: {r['samples_per_s_working_channel']:,} "
        f"samples/s = {r['ratio_rules_vs_none']:.2f}× (what the rules cost)",
        f"with {r['alert_events']:,} alert events into two broken channels "
        f"({r['failed_sends']:,} failed sends so far): {r['samples_per_s_broken_channels']:,} "
        f"samples/s = {r['ratio_broken_vs_working']:.2f}× the working channel (goal ≥ 0.9×)",
    ]
