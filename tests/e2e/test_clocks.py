"""domain.md §9 end to end: the gateway process under libfaketime, its clock stepped back and
forward while it reads a real Modbus server that has no clock of its own, and a source whose
clock is an hour off. What a Raspberry Pi without a battery, an NTP step or a PLC set to local
time does to a fieldlab, tested the way it happens."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest

from fieldlab.cli.main import main
from tests.clockless_plc import IDLE, RUNNING, clockless_plc
from tests.services import Process, eventually, free_port, missing
from tests.sim_gateway import health, wait_connected

#: libfaketime (Linux)
pytestmark = pytest.mark.posix

LIBFAKETIME = [
    Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"),
    Path("/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1"),
]


def _libfaketime() -> Path:
    for p in LIBFAKETIME:
        if p.exists():
            return p
    missing("libfaketime", "Debian package faketime; .ci/run installs it")
    raise AssertionError  # not reached


def _site(tmp: Path, plc_port: int, http: int) -> Path:
    site = tmp / "site.yaml"
    site.write_text(
        f"""
site: clocks
store: sqlite:///fieldlab.db
machines:
  press-1: {{ideal_cycle_time_s: 0.1}}
sources:
  - type: modbus
    name: plc
    host: 127.0.0.1
    port: {plc_port}
    poll_interval_ms: 200
    devices:
      - unit: 1
        machine: press-1
        fields:
          state: {{address: 0, type: UINT16, map: {{"1": running, "2": idle}}}}
          count_total: {{address: 2, type: UINT32}}
gateway: {{http: {{port: {http}}}}}
"""
    )
    return site


def _series(db: Path, signal: str) -> list[tuple[int, object]]:
    con = sqlite3.connect(db)
    try:
        return con.execute(
            "SELECT ts, value FROM samples JOIN series s ON s.id = samples.series "
            "WHERE s.machine = 'press-1' AND s.signal = ? ORDER BY ts",
            (signal,),
        ).fetchall()
    finally:
        con.close()


def test_the_worked_check_of_section_9_under_libfaketime(tmp_path: Path, capsys):
    """A PLC counter at 500,000 makes ten units a second; the edge PC's clock steps back 20
    minutes at 10 s and forward 20 minutes at 25 s into a 40 s run with 28 s running. The
    stored counter never decreases, good units over the run equal the PLC's count, run time is
    at most the 40 s that passed."""
    lib = _libfaketime()
    offset = tmp_path / "faketime"
    offset.write_text("+0\n")
    env = {
        "LD_PRELOAD": str(lib),
        "FAKETIME_TIMESTAMP_FILE": str(offset),
        "FAKETIME_NO_CACHE": "1",
        "DONT_FAKE_MONOTONIC": "1",
    }
    http = free_port()
    with clockless_plc() as plc:
        site = _site(tmp_path, plc.port, http)
        with Process("gateway", "-c", str(site), cwd=tmp_path, env=env) as gw:
            wait_connected(http)
            db = tmp_path / "fieldlab.db"
            eventually(lambda: _series(db, "count_total"), "the counter's baseline", detail=gw)
            t0 = time.monotonic()

            def at(s: float) -> None:
                time.sleep(max(0.0, t0 + s - time.monotonic()))

            plc.set_state(RUNNING)  # runs 0-12 s and 24-40 s: 28 s
            at(10)
            offset.write_text("-20m\n")  # NTP, or a person, sets the clock back
            at(12)
            plc.set_state(IDLE)
            at(24)
            plc.set_state(RUNNING)
            at(25)
            offset.write_text("+0\n")  # and forward again
            at(40)
            plc.set_state(IDLE)
            made = plc.counter - 500_000
            eventually(
                lambda: _series(db, "count_total")[-1][1] == plc.counter,
                "the last count stored",
                detail=lambda: gw.output,
            )
            report = health(http)
            assert report["clock"]["steps_backward"] == 1, report["clock"]
            assert report["clock"]["steps_forward"] == 1, report["clock"]
            assert report["sources"][0]["clock"]["stamped_by"] == "gateway"
            assert gw.stop() == 0
    counter = _series(db, "count_total")
    values = [v for _, v in counter]
    assert values == sorted(values), "the stored counter went down in time order"
    times = [t for t, _ in counter]
    assert times == sorted(set(times))
    assert 270 <= made <= 290
    start, end = counter[0][0], _series(db, "state")[-1][0] + 1
    capsys.readouterr()
    main(
        [
            "oee",
            "-c",
            str(site),
            "--from",
            str(start),
            "--to",
            str(end),
            "--now",
            str(end),
            "--json",
        ]
    )
    r = json.loads(capsys.readouterr().out)
    assert r["total"] == made, r
    assert r["run_s"] <= 40.0 + 0.5, r  # at most the time that passed (and one poll)
    # the 15 s the clock was behind are not running, nor made up: offline, observed later
    assert r["losses_s"]["offline"] >= 10.0, r
    con = sqlite3.connect(db)
    steps = con.execute("SELECT kind, value_s FROM quality ORDER BY id").fetchall()
    con.close()
    assert [k for k, _ in steps] == ["clock_step", "clock_step"]
    assert steps[0][1] == pytest.approx(-1200, abs=2) and steps[1][1] == pytest.approx(1200, abs=2)


def test_a_plc_clock_an_hour_off_is_said_and_stamped_by_the_gateways_clock(tmp_path: Path):
    """A source (the simulator's OPC UA face at 1x) whose clock runs an hour ahead, like a PLC
    set to summer time by hand: /health says the offset, the store keeps a `clock_skew` record,
    and its values land in the gateway's hour, not in the future."""
    import datetime as dt

    import yaml

    from fieldlab.simulators.faces.base import FaceSettings
    from fieldlab.simulators.gateway_site import gateway_site_yaml
    from fieldlab.simulators.scenario import load_scenario

    ports = {"opcua": free_port(), "http": free_port()}
    ahead = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    site = yaml.safe_load(
        gateway_site_yaml(
            load_scenario(None),
            FaceSettings(
                ports={"opcua": ports["opcua"], "modbus": free_port()},
                mqtt_url="mqtt://127.0.0.1:1",
            ),
            extra={"store": "sqlite:///fieldlab.db", "gateway": {"http": {"port": ports["http"]}}},
        )
    )
    site["sources"] = [s for s in site["sources"] if s["type"] == "opcua"]
    site["max_clock_skew_s"] = 300  # as a real site has it (the simulators' sites say null)
    (tmp_path / "site.yaml").write_text(yaml.safe_dump(site))
    t0 = int(time.time() * 1000)
    with (
        Process(
            "sim",
            "--speed",
            "1",
            "--start",
            ahead.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "--faces",
            "opcua",
            "--opcua-port",
            str(ports["opcua"]),
            "-q",
            cwd=tmp_path,
        ) as sim,
        Process("gateway", "-c", str(tmp_path / "site.yaml"), cwd=tmp_path) as gw,
    ):
        report = eventually(
            lambda: (r := health(ports["http"]))["sources"][0]["clock"]["skewed"] and r,
            "the skew said on /health",
            detail=lambda: gw.output + sim.output,
        )
        clock = report["sources"][0]["clock"]
        assert clock["offset_s"] == pytest.approx(3600, abs=30), clock
        assert clock["stamped_by"] == "gateway"
        db = tmp_path / "fieldlab.db"
        eventually(lambda: _newest(db), "samples stored", detail=lambda: gw.output)
        metrics = _metrics(ports["http"])
        assert 'fieldlab_source_clock_skewed{source="sim-opcua",type="opcua"} 1.0' in metrics
        assert gw.stop() == 0
    t1 = int(time.time() * 1000)
    newest = _newest(db)
    assert newest is not None and t0 <= newest <= t1, (t0, newest, t1)
    con = sqlite3.connect(db)
    kinds = con.execute("SELECT source, kind, value_s FROM quality").fetchall()
    con.close()
    assert [(s, k) for s, k, _ in kinds] == [("sim-opcua", "clock_skew")]
    assert kinds[0][2] == pytest.approx(3600, abs=30)


def _newest(db: Path) -> int | None:
    if not db.exists():
        return None
    con = sqlite3.connect(db)
    try:
        row = con.execute("SELECT max(ts) FROM samples").fetchone()
    except sqlite3.OperationalError:
        return None
    finally:
        con.close()
    return None if row[0] is None else int(row[0])


def _metrics(port: int) -> str:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return r.read().decode()


def test_an_mqtt_publisher_whose_clock_steps_back_makes_no_phantom_units(tmp_path: Path, broker):
    """A Raspberry Pi publishing its own counter with its own time, its clock stepped back 20
    minutes by NTP half-way (§9), read by the gateway in one process from a real Mosquitto: the
    later readings are written 1 ms after the newest (counted `clock_behind` on /health), so
    the counter in the store, in time order, is the counter as published, and §4 counts the
    units made, not a reset and the counter's whole value again."""
    import asyncio

    import numpy as np

    from fieldlab.domain.counters import counter_deltas
    from fieldlab.gateway.run import Gateway
    from fieldlab.store import SqliteStore
    from tests.services import publish

    n, first = 200, 50_000
    base = int(time.time() * 1000) - 60_000
    site, cfg = _mqtt_site(broker, "pi-1", "pi")
    stamps = [base + i * 100 - (1_200_000 if i >= n // 2 else 0) for i in range(n)]

    async def run() -> dict:
        gw = Gateway(site, cfg, tmp_path)
        task = asyncio.create_task(gw.run())
        deadline = time.monotonic() + 30
        await _connected(gw, deadline)
        for i, ts in enumerate(stamps):
            await asyncio.to_thread(
                publish, broker, "fieldlab/f/a/pi-1/count_total", {"ts": ts, "value": first + i}
            )
        while gw.pipeline is None or gw.pipeline.stats.samples < n:
            assert time.monotonic() < deadline + 60, "not all stored"
            await asyncio.sleep(0.05)
        report = gw.health_report()
        gw.request_stop()
        await task
        return report

    report = asyncio.run(run())
    with SqliteStore(tmp_path / "gw.db", readonly=True) as store:
        series = store.read("pi-1", "count_total", 0, 2**62)
    values = [int(v) for v in series.values.tolist()]  # in time order
    assert values == [first + i for i in range(n)]
    assert int(counter_deltas(np.array(values))[1:].sum()) == n - 1
    assert report["sources"][0]["clock"]["behind"] == n // 2


def test_an_mqtt_publisher_an_hour_ahead_is_stamped_by_the_gateways_clock(tmp_path: Path, broker):
    """A PLC gateway that publishes local time as UTC (an hour ahead in winter), read from a
    real Mosquitto with the site's default `max_clock_skew_s`: /health says the offset, the
    store keeps a `clock_skew` record, and its values land in the gateway's hour, not in the
    future, where they would move every figure's "now" (§5) an hour on. Set right, its own
    times are used again, after the ones written meanwhile."""
    import asyncio

    from fieldlab.gateway.run import Gateway
    from fieldlab.kpi.query import store_now
    from fieldlab.store import SqliteStore
    from tests.services import publish

    site, cfg = _mqtt_site(broker, "plc-1", "plc")
    assert site.max_clock_skew_s == 300
    topic = "fieldlab/f/a/plc-1/count_total"

    async def run() -> tuple[dict, dict, int, int]:
        gw = Gateway(site, cfg, tmp_path)
        task = asyncio.create_task(gw.run())
        deadline = time.monotonic() + 30
        await _connected(gw, deadline)

        async def send(values: range, offset_ms: int) -> None:
            for v in values:
                now = int(time.time() * 1000)
                await asyncio.to_thread(publish, broker, topic, {"ts": now + offset_ms, "value": v})
            while gw.pipeline is None or gw.pipeline.stats.samples < values.stop:
                assert time.monotonic() < deadline + 60, "not all stored"
                await asyncio.sleep(0.05)

        t0 = int(time.time() * 1000)
        await send(range(0, 20), 3_600_000)
        ahead = gw.health_report()
        t1 = int(time.time() * 1000)
        await send(range(20, 30), 0)
        right = gw.health_report()
        gw.request_stop()
        await task
        return ahead, right, t0, t1

    ahead, right, t0, t1 = asyncio.run(run())
    clock = ahead["sources"][0]["clock"]
    assert clock["skewed"] and clock["stamped_by"] == "gateway", clock
    assert clock["offset_s"] == pytest.approx(3600, abs=30), clock
    assert not right["sources"][0]["clock"]["skewed"], right["sources"][0]["clock"]
    with SqliteStore(tmp_path / "gw.db", readonly=True) as store:
        series = store.read("plc-1", "count_total", 0, 2**62)
        assert store_now(store) <= int(time.time() * 1000)  # no figure's now in the future
    ts, values = series.ts.tolist(), [int(v) for v in series.values.tolist()]
    assert values == list(range(30))  # in time order: no reading looks older than the last
    assert all(t0 <= t <= t1 for t in ts[:20]), (t0, ts[:20], t1)
    con = sqlite3.connect(tmp_path / "gw.db")
    kinds = con.execute("SELECT source, kind FROM quality ORDER BY ts").fetchall()
    con.close()
    assert kinds == [("plc", "clock_skew"), ("plc", "clock_agrees")]


def _mqtt_site(broker: int, machine: str, source: str):  # type: ignore[no-untyped-def]
    """A gateway reading one machine's topics from the broker, with the site's defaults."""
    from fieldlab.gateway.config import parse_gateway_config

    url = f"mqtt://127.0.0.1:{broker}"
    return parse_gateway_config(
        json.dumps(
            {
                "store": "sqlite:///gw.db",
                "machines": {machine: {"ideal_cycle_time_s": 1}},
                "sources": [
                    {
                        "type": "mqtt",
                        "name": source,
                        "url": url,
                        "client_id": source,
                        "protocol": "3.1.1",
                    }
                ],
                "gateway": {"http": {"port": 0}},
            }
        )
    )


async def _connected(gw, deadline: float) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    while not (gw.health and gw.health[0].state == "connected"):
        assert time.monotonic() < deadline, "not connected"
        await asyncio.sleep(0.05)
