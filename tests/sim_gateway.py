"""`fieldlab sim` (paused) and `fieldlab gateway` on free loopback ports, the gateway connected
to every face before simulated time starts: the setup the end-to-end tests share."""

from __future__ import annotations

import contextlib
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from fieldlab.simulators.faces.base import FaceSettings, ReadOptions
from fieldlab.simulators.gateway_site import gateway_site_yaml
from fieldlab.simulators.scenario import load_scenario
from tests.services import Process, eventually, free_port

START_TEXT = "2026-03-02T07:00"


def write_site(
    path: Path,
    http: int,
    sources: list[dict],
    sinks: list[dict] | None = None,
    store: str = "sqlite:///gateway.db",
) -> Path:
    """A gateway site file with /health and /metrics on port `http`."""
    doc: dict = {"store": store, "gateway": {"http": {"port": http}}, "sources": sources}
    if sinks:
        doc["sinks"] = sinks
    path.write_text(yaml.safe_dump(doc))
    return path


def health(port: int) -> dict:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
            return json.load(r)
    except urllib.error.HTTPError as exc:  # 503 while degraded still carries the report
        return json.load(exc)


def wait_connected(port: int, timeout: float = 60) -> dict:
    def connected() -> dict | None:
        report = health(port)
        return report if all(s["state"] == "connected" for s in report["sources"]) else None

    return eventually(connected, "every gateway source connected", timeout)


def sim_process(
    ports: dict[str, int], mqtt_port: int, *extra: str, speed: str = "30", cwd: Path | None = None
) -> Process:
    """`fieldlab sim` from the fixed start on the given OPC UA and Modbus ports and broker."""
    return Process(
        "sim",
        *extra,
        "--speed",
        speed,
        "--start",
        START_TEXT,
        "--opcua-port",
        str(ports["opcua"]),
        "--modbus-port",
        str(ports["modbus"]),
        "--s7-port",
        str(ports.get("s7", 1102)),
        "--mqtt",
        f"mqtt://127.0.0.1:{mqtt_port}",
        "-q",
        cwd=cwd,
    )


@dataclass
class Running:
    sim: Process
    gateway: Process
    ports: dict[str, int]
    site: Path
    truth: Path


@contextlib.contextmanager
def sim_and_gateway(
    tmp: Path,
    mqtt_port: int,
    *,
    speed: str,
    minutes: int,
    scenario_file: Path | None = None,
    site_extra: dict | None = None,
) -> Iterator[Running]:
    """Both processes up, every gateway source connected, the simulated clock still paused:
    send the simulator SIGUSR1 to start it. `site_extra`: more keys for the gateway's site."""
    ports = {"opcua": free_port(), "modbus": free_port(), "s7": free_port(), "http": free_port()}
    site, truth = tmp / "site.yaml", tmp / "truth.jsonl"
    site.write_text(
        gateway_site_yaml(
            load_scenario(scenario_file),
            FaceSettings(
                ports={p: ports[p] for p in ("opcua", "modbus", "s7")},
                mqtt_url=f"mqtt://127.0.0.1:{mqtt_port}",
            ),
            ReadOptions(poll_ms=100),
            extra={
                "store": "sqlite:///gateway.db",
                **(site_extra or {}),
                "gateway": {"http": {"port": ports["http"]}}
                | (site_extra or {}).get("gateway", {}),
            },
        )
    )
    scenario = ["--scenario", str(scenario_file)] if scenario_file else []
    with (
        sim_process(
            ports,
            mqtt_port,
            *scenario,
            "--paused",
            "--duration",
            f"{minutes}m",
            "--truth",
            str(truth),
            speed=speed,
        ) as sim,
        Process("gateway", "-c", str(site), cwd=tmp) as gw,
    ):
        sim.wait_for("serving mqtt://", 90)  # a loaded runner: imports take tens of seconds
        wait_connected(ports["http"])
        yield Running(sim, gw, ports, site, truth)
