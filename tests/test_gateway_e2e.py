"""End to end: scenario → `fieldlab sim` → `fieldlab gateway` → SQLite → OEE, against the
simulator's ground truth, for machines on all three protocols, at 1× and at 60×."""

from __future__ import annotations

import json
import signal
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from edge.config import load_site_config
from edge.kpi.query import store_oee
from edge.store import SqliteStore
from simulators.gateway_site import gateway_site_yaml
from simulators.scenario import load_scenario
from tests.helpers import MIN, local
from tests.services import Process, free_port, mosquitto

START = local("2026-03-02 07:00")


def health(port: int) -> dict:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
            return json.load(r)
    except urllib.error.HTTPError as exc:  # 503 while degraded still carries the report
        return json.load(exc)


def wait_connected(port: int, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        try:
            report = health(port)
            if all(s["state"] == "connected" for s in report["sources"]):
                return report
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError("gateway sources not all connected")
        time.sleep(0.2)


def run_path(tmp: Path, mqtt_port: int, speed: str, minutes: int) -> tuple[Path, Path, int]:
    """Run sim and gateway; returns (site file, truth file, http port)."""
    ports = {"opcua": free_port(), "modbus": free_port(), "http": free_port()}
    site = tmp / "site.yaml"
    site.write_text(
        gateway_site_yaml(
            load_scenario(),
            opcua_port=ports["opcua"],
            modbus_port=ports["modbus"],
            mqtt_url=f"mqtt://127.0.0.1:{mqtt_port}",
            poll_ms=100,
            extra={"store": "sqlite:///gateway.db", "gateway": {"http": {"port": ports["http"]}}},
        )
    )
    truth = tmp / "truth.jsonl"
    with (
        Process(
            "sim",
            "--paused",
            "--speed",
            speed,
            "--start",
            "2026-03-02T07:00",
            "--duration",
            f"{minutes}m",
            "--opcua-port",
            str(ports["opcua"]),
            "--modbus-port",
            str(ports["modbus"]),
            "--mqtt",
            f"mqtt://127.0.0.1:{mqtt_port}",
            "--truth",
            str(truth),
            "-q",
        ) as sim,
        Process("gateway", "-c", str(site), cwd=tmp) as gw,
    ):
        sim.wait_for("serving mqtt://")
        wait_connected(ports["http"])
        sim.signal(signal.SIGUSR1)  # go
        assert sim.proc.wait(minutes * 60 / float(speed) + 60) == 0, sim.output
        time.sleep(1.5)  # the last notifications and polls reach the store
        assert gw.stop() == 0, gw.output
        assert "Traceback" not in gw.output, gw.output
    return site, truth, ports["http"]


def compare(site_path: Path, truth: Path, minutes: int) -> dict[str, tuple]:
    from edge.cli.ingest import ingest_file

    site = load_site_config(site_path)
    truth_db = site_path.parent / "truth.db"
    with SqliteStore(truth_db) as store:
        ingest_file(store, truth, quiet=True)
    end = START + minutes * MIN
    out = {}
    with (
        SqliteStore(site_path.parent / "gateway.db", readonly=True) as gw,
        SqliteStore(truth_db, readonly=True) as tr,
    ):
        for m in site.machines:
            g = store_oee(gw, site, m, START, end + MIN, now=end + MIN)
            t = store_oee(tr, site, m, START, end + MIN, now=end + MIN)
            out[m] = (g, t)
    return out


def check(results: dict[str, tuple], tolerance: float = 0.005) -> None:
    problems = []
    for m, (g, t) in results.items():
        print(f"{m:9s} OEE gateway {g.oee:.4f} truth {t.oee:.4f}  total {g.total} / {t.total}")
        if abs((g.oee or 0) - (t.oee or 0)) > tolerance:
            problems.append(f"{m}: OEE {g.oee:.4f} vs truth {t.oee:.4f}")
        for key in ("total", "good", "scrap"):
            if (
                getattr(t, key) is not None
                and getattr(g, key) is not None
                and getattr(g, key) != getattr(t, key)
            ):
                problems.append(f"{m}: {key} {getattr(g, key)} vs truth {getattr(t, key)}")
        if t.total and g.total is None:
            problems.append(f"{m}: no counts through the gateway")
    assert not problems, "\n".join(problems)


@pytest.mark.slow
def test_gateway_agrees_with_ground_truth_at_1x_and_60x(tmp_path):
    with mosquitto() as mqtt_a, mosquitto() as mqtt_b, ThreadPoolExecutor(2) as pool:
        (tmp_path / "1x").mkdir()
        (tmp_path / "60x").mkdir()
        slow = pool.submit(run_path, tmp_path / "1x", mqtt_a, "1", 1)
        fast = pool.submit(run_path, tmp_path / "60x", mqtt_b, "60", 30)
        site1, truth1, _ = slow.result()
        site60, truth60, _ = fast.result()
    check(compare(site60, truth60, 30))
    check(compare(site1, truth1, 1))
