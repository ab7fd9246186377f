"""`fieldlab demo` from the package alone: embedded broker, simulators on all three protocols,
gateway, SQLite and dashboard; `--for … --no-browser` stops by itself, then the store has OEE
for every default machine."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
import time
import urllib.request

import pytest

from fieldlab.simulators.scenario import load_scenario
from tests.services import Process, eventually, listening

#: two demos side by side at 1x and 60x: OEE to 0.5 pp, kWh to 1 %, state starts to a poll
pytestmark = [pytest.mark.serial, pytest.mark.xdist_group("timing")]


def servers_up(demo: Process) -> None:
    """Ready within 20 s; every server the demo starts (broker, OPC UA, Modbus, gateway
    /health, dashboard) binds loopback only; the dashboard answers."""
    ready = demo.wait_for("fieldlab demo: ready in", 60)
    assert float(re.search(r"ready in ([\d.]+) s", ready)[1]) < 20  # type: ignore[index]
    dashboard = demo.wait_for("dashboard  http://").split()[-1]

    def five_listening() -> set[tuple[str, int]] | None:
        bound = listening(demo.proc.pid)
        return bound if len(bound) >= 5 else None

    bound = eventually(five_listening, "five servers listening", 20)
    assert {addr for addr, _ in bound} <= {"127.0.0.1", "::1"}, bound

    def healthy() -> bool:
        with urllib.request.urlopen(f"{dashboard}/_stcore/health", timeout=2) as r:
            return r.read().strip() == b"ok"

    eventually(healthy, "the dashboard answering", 30)


def store_has_oee(workdir) -> None:
    """`fieldlab oee` on the demo's store: an empty window refused, OEE for every machine."""

    def oee(since: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "fieldlab", "oee", "-c", str(workdir / "site.yaml")]
            + ["--from", since, "--json"],
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert oee("now").returncode == 2  # --from now: an empty window is refused, with a message
    out = oee(str(int(time.time() * 1000) - 3 * 3_600_000))  # inside the 4 h of history
    results = {r["machine"]: r for r in json.loads(out.stdout)}
    assert set(results) == set(load_scenario().machines)
    for machine, r in results.items():
        assert r["oee"] is not None and 0.2 < r["oee"] < 1.0, (machine, r["oee"])
        assert r["total"] > 0, machine


@pytest.mark.slow
def test_demo_live_part_agrees_with_the_truth_and_holds_no_unscripted_offline(tmp_path):
    """The gateway connects before the simulated clock starts, and the values read at contact
    join the back-filled history without a gap: over the live part only, every machine's OEE
    equals the truth within 0.5 pp, and no `offline` appears that the scenario did not script
    (it scripts none). At 1x and at 60x, side by side: the live parts are a minute of waiting
    each, not of work; the second starts once the first holds its ports, so it takes free ones
    as a second demo on a laptop would. The 1x run also shows the demo comes up (servers,
    loopback, the dashboard) and fills the store for `fieldlab oee`."""

    def start(speed: str) -> Process:
        workdir = tmp_path / speed / "demo"
        return Process(
            "demo", "--workdir", str(workdir), "--for", "60s", "--no-browser", "--history", "4h",
            "--speed", speed,
        )  # fmt: skip

    demos = {"60": start("60")}
    try:
        demos["60"].wait_for("fieldlab demo: ready in", 60)
        demos["1"] = start("1")
        servers_up(demos["1"])
        live = {speed: demo.wait_for("live from", 60) for speed, demo in demos.items()}
        for demo in demos.values():
            assert demo.proc.wait(150) == 0, demo.output
    finally:
        for demo in demos.values():
            demo.stop()
    for speed, demo in demos.items():
        assert "Traceback" not in demo.output
        _agrees_with_the_truth(tmp_path / speed, live[speed], speed)
    store_has_oee(tmp_path / "1" / "demo")


def _run_start(states) -> int:
    """Where the last run of equal states (the `offline` of the final stop left out) began."""
    values = [v for v in states.values.tolist()]
    ts = states.ts.tolist()
    while values and values[-1] == "offline":
        values.pop()
        ts.pop()
    i = len(values) - 1
    while i > 0 and values[i - 1] == values[-1]:
        i -= 1
    return int(ts[i])


def _agrees_with_the_truth(root, live: str, speed: str) -> None:
    from fieldlab.config import load_site_config
    from fieldlab.domain.samples import parse_ts
    from fieldlab.kpi.query import store_oee
    from fieldlab.store import SqliteStore
    from fieldlab.store.ingest import ingest_file

    workdir = root / "demo"
    live_from = parse_ts(live.split()[2])
    site = load_site_config(workdir / "site.yaml")
    with SqliteStore(root / "truth.db") as truth:
        ingest_file(truth, workdir / "truth.jsonl", quiet=True)
    with (
        SqliteStore(workdir / "fieldlab.db", readonly=True) as store,
        SqliteStore(root / "truth.db", readonly=True) as truth,
    ):
        for m in load_scenario().machines:
            # Up to the gateway's last reading of the counter: both count the same units.
            end = int(store.read(m, "count_total", live_from, 2**62).ts[-1]) + 1
            states = store.read(m, "state", live_from, end)
            assert "offline" not in states.values.tolist(), (m, speed)
            g = store_oee(store, site, m, live_from, end, now=end)
            t = store_oee(truth, site, m, live_from, end, now=end)
            # A machine with no count in a short live part has no window (planned 0): None.
            assert g.coverage in (1.0, None) and t.coverage in (1.0, None), (m, speed)
            # OEE, as the issue asks. A and P alone can differ more: the gateway sees a state
            # change at its next poll (250 ms, 15 simulated s at 60x), so a stop just over the
            # micro-stop threshold in the truth may be just under it in the store, moving its
            # time from A to P; the product, ideal time of good units over planned time, stays.
            assert (g.oee is None) == (t.oee is None), (m, g.oee, t.oee)
            if g.oee is not None:
                # Planned time is not exact either: the gateway sees a `planned_stop` begin or
                # end at its next poll (Modbus: 250 ms, so 250 ms × speed of simulated time),
                # and over a live part of seconds one late edge moves the OEE by more than the
                # 0.5 pp (seen at 1×: 153 ms late over 27 s planned, 1.1741 against 1.1675).
                edges = _planned_stop_edges(truth, m, live_from, end)
                slack = t.oee * edges * 0.25 * float(speed) / t.planned_s
                assert abs(g.oee - t.oee) <= 0.005 + slack, (m, speed, g.oee, t.oee, edges)
            assert g.total == t.total and g.good == t.good, (m, speed, g.total, t.total)
            # Energy (domain.md §4, §8): a meter read with other rounding than the history's
            # last value is a back-step, never a reset that counts the whole meter again.
            assert (g.energy is None) == (t.energy is None), m
            if g.energy is not None and t.energy is not None:
                wh = 0.002  # the Modbus meter register's resolution (Wh), at either end
                assert abs(g.energy.kwh - t.energy.kwh) <= 0.01 * t.energy.kwh + wh, (
                    m, speed, g.energy.kwh, t.energy.kwh,
                )  # fmt: skip
            # "running for …" counts from the start of the state's run (domain.md §3), which
            # began in the history for most machines: within one poll of the truth's.
            poll = 250 * float(speed)
            got = _run_start(store.read(m, "state", 0, end))
            want = _run_start(truth.read(m, "state", 0, end))
            assert abs(got - want) <= poll + 1, (m, speed, got, want)


def test_a_broker_already_on_the_default_port_is_not_shared(broker: int):
    """A Mosquitto service or another demo on 1883: this run takes its own embedded broker on a
    free port (two runs on one broker mix their machines' data); `--mqtt URL` shares on purpose."""
    from fieldlab.stack import Ports

    taken = Ports(mqtt=broker).resolve(keep_mqtt=False)
    assert taken.mqtt != broker
    assert Ports(mqtt=broker).resolve(keep_mqtt=True).mqtt == broker


def _planned_stop_edges(store, machine: str, start: int, end: int) -> int:
    """How often `planned_stop` begins or ends inside [start, end) in the truth."""
    states = [str(v) for v in store.read(machine, "state", start, end).values.tolist()]
    return sum(
        (a == "planned_stop") != (b == "planned_stop") for a, b in itertools.pairwise(states)
    )
