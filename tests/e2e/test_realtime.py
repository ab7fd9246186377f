"""At 1×, where users run: a simulator whose values are an hour old (its machines ran an hour
before the gateway first looked), the gateway stopped and started, killed and started, and the
network to the PLCs cut by a proxy the test controls. Within seconds of contact returning the
store's latest state is the machine's real state, each `offline` episode covers only its gap,
and OEE over the whole run equals the truth with those gaps marked offline (domain.md §3).
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest

from fieldlab.bench.services import free_port
from fieldlab.config import load_site_config
from fieldlab.domain.samples import parse_ts
from fieldlab.kpi.query import store_oee
from fieldlab.simulators.faces.base import FaceSettings, ReadOptions
from fieldlab.simulators.gateway_site import gateway_site_yaml
from fieldlab.simulators.scenario import load_scenario
from fieldlab.store import SqliteStore
from tests.fault_injectors import CutProxy
from tests.helpers import local
from tests.services import Process, publish
from tests.sim_gateway import START_TEXT, sim_process, wait_connected, write_site

#: 1x against values an hour old: gaps of 4 s measured to the second
#: SIGKILL (POSIX)
pytestmark = [pytest.mark.posix, pytest.mark.serial, pytest.mark.xdist_group("timing")]

#: The machines behind the cut: OPC UA (cnc-1, imm-1) and Modbus (press-1, lathe-1).
PLC_MACHINES = ("cnc-1", "imm-1", "press-1", "lathe-1")


#: Machines whose state carries the time it last changed: OPC UA's SourceTimestamp (cnc-1,
#: imm-1) and the Modbus press's `changed:` registers (press-1). The legacy lathe-1 has only an
#: energy meter, its state derived from power: no change time.
CHANGE_TIMES = ("cnc-1", "imm-1", "press-1")


def truth_changes(truth: Path, machine: str, start: int, end: int) -> list[tuple[int, str]]:
    """The simulator's state changes of the machine with start <= ts <= end."""
    out, last = [], None
    for line in truth.read_text().splitlines():
        s = json.loads(line)
        if s["machine"] == machine and s["signal"] == "state":
            ts = parse_ts(s["ts"])
            if s["value"] != last and start <= ts <= end:
                out.append((ts, s["value"]))
            last = s["value"]
    return out


def truth_state(truth: Path, machine: str) -> tuple[int, str]:
    """The machine's state as the simulator last wrote it: (ts, state)."""
    last = (0, "offline")
    for line in truth.read_text().splitlines():
        s = json.loads(line)
        if s["machine"] == machine and s["signal"] == "state":
            last = (parse_ts(s["ts"]), s["value"])
    return last


def store_state(db: Path, machine: str) -> tuple[int, str]:
    with SqliteStore(db, readonly=True) as store:
        return next(
            ((s.ts, str(s.value)) for s in store.latest(machine) if s.signal == "state"),
            (0, "none"),
        )


def assert_states_are_real(db: Path, truth: Path, when: str) -> None:
    """The store's latest state of every PLC machine is the simulator's, not `offline`. The
    legacy lathe-1 is seen only through its power meter: its state is running or idle."""
    for m in PLC_MACHINES:
        for _ in range(20):  # a state change between the two reads: look again
            got, want = store_state(db, m), truth_state(truth, m)
            if m == "lathe-1":
                want = (want[0], "running" if want[1] == "running" else "idle")
            if got[1] == want[1]:
                break
            time.sleep(0.25)
        assert got[1] == want[1], f"{when}: {m} stored {got}, truth {want}"


def offline_gaps(db: Path, machine: str) -> list[tuple[int, int]]:
    """Closed `offline` episodes in the store: (first offline ts, ts of the next other state);
    the one the final stop opens is not counted."""
    with SqliteStore(db, readonly=True) as store:
        s = store.read(machine, "state", 0, 2**62)
    gaps, start = [], None
    for ts, v in zip(s.ts.tolist(), s.values.tolist(), strict=True):
        if v == "offline" and start is None:
            start = ts
        elif v != "offline" and start is not None:
            gaps.append((start, ts))
            start = None
    return gaps


@pytest.mark.slow
def test_contact_returns_with_the_real_state_at_1x(tmp_path: Path, broker: int):
    """Stop/start, SIGKILL/start and a network cut, each ~4 s, against values an hour old."""
    ports = {"opcua": free_port(), "modbus": free_port(), "http": free_port()}
    truth, db = tmp_path / "truth.jsonl", tmp_path / "gateway.db"
    mqtt_port = broker
    sim = sim_process(ports, mqtt_port, "--history", "1h", "--truth", str(truth), speed="1")
    proxies = [CutProxy(ports["opcua"]), CutProxy(ports["modbus"])]
    site = tmp_path / "site.yaml"
    site.write_text(
        gateway_site_yaml(
            load_scenario(),
            FaceSettings(
                ports={"opcua": proxies[0].port, "modbus": proxies[1].port},
                mqtt_url=f"mqtt://127.0.0.1:{mqtt_port}",
            ),
            ReadOptions(poll_ms=200),
            extra={
                "store": "sqlite:///gateway.db",
                "gateway": {"http": {"port": ports["http"]}},
            },
        )
    )
    marks: dict[str, float] = {}

    def gateway() -> Process:
        gw = Process("gateway", "-c", str(site), cwd=tmp_path)
        wait_connected(ports["http"], 30)
        return gw

    try:
        sim.wait_for("serving mqtt://", 60)
        gw = gateway()
        time.sleep(3)
        assert_states_are_real(db, truth, "first start, values an hour old")

        assert gw.stop() == 0, gw.output
        time.sleep(4)
        marks["restart"] = time.monotonic()
        gw = gateway()
        time.sleep(2)
        assert_states_are_real(db, truth, "after a clean restart")

        for p in proxies:
            p.cut()
        time.sleep(4)
        for p in proxies:
            p.restore()
        wait_connected(ports["http"], 30)
        time.sleep(2)
        assert_states_are_real(db, truth, "after a network cut")

        gw.proc.kill()
        gw.stop()
        time.sleep(4)
        gw = gateway()
        time.sleep(2)
        assert_states_are_real(db, truth, "after SIGKILL and a start")
        assert gw.stop() == 0, gw.output
        assert "Traceback" not in gw.output, gw.output
    finally:
        for p in proxies:
            p.close()
        sim.stop()

    # Every gap is one of the three (4 s, plus detection, start-up and reconnect), none runs on.
    # A machine that says when its state last changed and ran on unchanged through a gap held
    # its values through it and shows no gap at all (domain.md §3); a gap stays only where its
    # state changed inside it. The lathe gives no such time: its three gaps stay.
    for m in PLC_MACHINES:
        gaps = offline_gaps(db, m)
        lengths = [round((b - a) / 1000, 1) for a, b in gaps]
        assert all(3.0 <= x <= 20.0 for x in lengths), (m, lengths)  # 4 s + start-up
        if m in CHANGE_TIMES:
            assert len(gaps) <= 3, (m, lengths)
            for a, b in gaps:
                assert truth_changes(truth, m, a - 1000, b + 1000), (m, a, b, "no change")
        else:
            assert len(gaps) == 3, (m, lengths)

    # OEE over the run equals the truth with the same gaps marked offline, within 0.5 pp.
    from fieldlab.domain.samples import Sample
    from fieldlab.store.ingest import ingest_file

    cfg = load_site_config(site)
    with SqliteStore(tmp_path / "truth.db") as t, SqliteStore(db, readonly=True) as g:
        ingest_file(t, truth, quiet=True)
        live = local(START_TEXT.replace("T", " "))
        for m in PLC_MACHINES:
            # From the gateway's first contact (before it knew nothing) to its last count: both
            # stores then count the units between two readings the gateway made.
            counts = g.read(m, "count_total", 0, 2**62).ts
            start = max(live, int(g.read(m, "state", 0, 2**62).ts[0]), int(counts[0])) + 1
            end = int(counts[-1]) + 1
            marked = []
            for a, b in offline_gaps(db, m):
                back = t.read(m, "state", b, b + 1)
                marked += [
                    Sample(a, m, "state", "offline"),
                    Sample(b, m, "state", str(back.values[0])),
                ]
            t.write(marked)
            rg = store_oee(g, cfg, m, start, end, now=end)
            rt = store_oee(t, cfg, m, start, end, now=end)
            for k in ("availability", "performance", "quality", "oee", "coverage"):
                a, b = getattr(rg, k), getattr(rt, k)
                assert (a is None) == (b is None), (m, k, a, b)
                if a is not None:
                    assert abs(a - b) <= 0.005, (m, k, a, b)
            if offline_gaps(db, m):
                assert rg.coverage < 1.0
            else:  # held through every gap: nothing of the planned time unobserved
                assert rg.coverage == 1.0


def test_cut_proxy_cuts_and_restores():
    """The fault injector itself: traffic flows, stops at the cut, flows again after."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(5)
    proxy = CutProxy(server.getsockname()[1])
    try:
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as c:
            s, _ = server.accept()
            c.sendall(b"ping")
            assert s.recv(4) == b"ping"
            proxy.cut()
            c.settimeout(5)
            assert c.recv(4) == b""  # the link is gone
            s.close()
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as c:
            c.settimeout(5)
            assert c.recv(4) == b""  # new connections are dropped while cut
        proxy.restore()
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as c:
            s, _ = server.accept()
            c.sendall(b"pong")
            assert s.recv(4) == b"pong"
            s.close()
    finally:
        proxy.close()
        server.close()


@pytest.mark.slow
def test_mqtt_retained_state_an_hour_old_is_the_state_now_after_restarts(
    tmp_path: Path, broker: int
):
    """A retained state is as old as its ts says: after the gateway's `offline` (a clean stop,
    a SIGKILL) it is written at the instant contact returned, not an hour back."""
    http = free_port()
    db = tmp_path / "gateway.db"
    hour_ago = int(time.time() * 1000) - 3_600_000
    port = broker
    publish(port, "fieldlab/t/a/mq-1/state", {"ts": hour_ago, "value": "running"}, retain=True)
    source = {
        "type": "mqtt",
        "url": f"mqtt://127.0.0.1:{port}",
        "client_id": "retained-test",
        "machines": {"mq-1": {}},
    }
    site = write_site(tmp_path / "site.yaml", http, [source])

    def gateway_with_live_value() -> Process:
        gw = Process("gateway", "-c", str(site), cwd=tmp_path)
        wait_connected(http, 30)
        now = int(time.time() * 1000)
        publish(port, "fieldlab/t/a/mq-1/temp_c", {"ts": now, "value": 21.5})
        for _ in range(100):
            with SqliteStore(db, readonly=True) as store:
                if any(s.signal == "temp_c" and s.ts == now for s in store.latest("mq-1")):
                    return gw
            time.sleep(0.1)
        raise AssertionError("the live value did not arrive: " + gw.output)

    gw = gateway_with_live_value()
    assert store_state(db, "mq-1") == (hour_ago, "running")  # first contact: as it is
    assert gw.stop() == 0
    assert store_state(db, "mq-1")[1] == "offline"
    stopped = store_state(db, "mq-1")[0]
    time.sleep(1)
    for when in ("after a clean stop", "after SIGKILL"):
        gw = gateway_with_live_value()
        ts, state = store_state(db, "mq-1")
        assert state == "running", when
        assert ts > stopped and abs(ts - time.time() * 1000) < 10_000, when
        stopped = ts
        if when == "after a clean stop":
            gw.proc.kill()
        gw.stop()
        time.sleep(1)
    assert "Traceback" not in gw.output, gw.output
