"""Sparkplug B end to end: the simulator's edge nodes (one per area, a device per machine) on a
real Mosquitto → the gateway's Sparkplug host → SQLite, against the truth; a seq gap and data
before a birth are counted (/health, /metrics) and answered with a Rebirth; a dropped edge
node's will (NDEATH) writes `offline` at the instant it was last heard, and its next birth
brings it back."""

from __future__ import annotations

import json
import signal
import subprocess
import urllib.request
from pathlib import Path

import pytest
import yaml

from fieldlab.store import SqliteStore
from tests.helpers import MIN, local
from tests.services import Process, eventually, free_port, missing, mosquitto, settled
from tests.sim_gateway import health, sim_and_gateway, wait_connected
from tests.truth import compare

ROOT = Path(__file__).resolve().parents[2]
START = local("2026-03-02 07:00")
ON_SPB = ("press-1", "laser-1", "filler-1")  # areas forming (2 devices) and packaging


@pytest.mark.slow
def test_sparkplug_edge_nodes_agree_with_the_truth_across_a_death(tmp_path: Path):
    scenario_file = tmp_path / "scenario.yaml"
    data = yaml.safe_load(Path("simulators/scenarios/default.yaml").read_text())
    for m in ON_SPB:
        data["machines"][m]["faces"] = ["sparkplug"]
    data["events"] = [
        "+4m press-1 face sparkplug seq_gap",
        "+10m press-1 face sparkplug cut 2",
        # back from a cut, each edge node sends a DDATA before its births
        "+15m press-1 face sparkplug data_before_birth 1",
    ]
    scenario_file.write_text(yaml.safe_dump(data))
    births: list[str] = []
    with (
        mosquitto() as mqtt_port,
        sim_and_gateway(
            tmp_path, mqtt_port, speed="60", minutes=20, scenario_file=scenario_file
        ) as run,
    ):
        import paho.mqtt.client as mqtt

        watch = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        watch.on_message = lambda c, u, msg: births.append(msg.topic)
        watch.connect("127.0.0.1", mqtt_port)
        watch.subscribe("spBv1.0/demo/NBIRTH/#", qos=1)
        watch.loop_start()
        run.sim.signal(signal.SIGUSR1)  # go
        assert run.sim.proc.wait(20 + 60) == 0, run.sim.output
        watch.loop_stop()
        settled(
            lambda: sum(s["samples"] for s in health(run.ports["http"])["sources"]),
            "the last samples",
        )
        report = next(
            s for s in health(run.ports["http"])["sources"] if s["name"] == "sim-sparkplug"
        )
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{run.ports['http']}/metrics").read()
        assert run.gateway.stop() == 0, run.gateway.output
    # the seq gap (one per edge node) was noticed and answered: each node was asked to rebirth
    # and did (its NBIRTH again), and was born again after the cut
    assert report["errors"] >= 4 and report["samples"] > 0, report
    events = report["events"]
    assert events["seq_gaps"] >= 2 and events["data_before_birth"] >= 2, events
    assert events["rebirth_requests"] >= 4, events
    for node in ("forming", "packaging"):  # first, after the gap, the cut, the early data
        assert births.count(f"spBv1.0/demo/NBIRTH/{node}") >= 4, births
    assert any(
        line.startswith(b"fieldlab_source_events_total{") and b'"data_before_birth"' in line
        for line in metrics.splitlines()
    ), metrics
    with SqliteStore(tmp_path / "gateway.db", readonly=True) as store:
        for m in ON_SPB:
            s = store.read(m, "state", START, START + 30 * MIN)
            seen = [(int(t), str(v)) for t, v in zip(s.ts, s.values, strict=True)]
            gap = [(t, v) for t, v in seen if START + 9 * MIN < t < START + 19 * MIN]
            offline = [i for i, (_, v) in enumerate(gap) if v == "offline"]
            assert offline, (m, gap)
            t_off = gap[offline[0]][0]
            back = gap[offline[0] + 1][0] if offline[0] + 1 < len(gap) else None
            assert back is not None and 60_000 <= back - t_off <= 6 * MIN, (m, gap)
            # at the cut, give or take the face's reaction on a loaded machine (seconds of
            # wall time are minutes at 60×) ...
            assert abs(t_off - (START + 10 * MIN)) < 5 * MIN, (m, t_off - START)
            # ... and never before the node was last heard: nothing of it after the offline
            counts = store.read(m, "count_total", START, START + 30 * MIN).ts
            assert not [t for t in counts if t_off < t < back], (m, t_off, back)
    # nothing lost: every unit counted, as the truth has them
    for m, (g, t) in compare(run.site, run.truth, 20).items():
        assert (g.total, g.good, g.scrap) == (t.total, t.good, t.scrap), m
        if m not in ON_SPB:
            assert abs(g.oee - t.oee) < 0.005, m


def retained_state(port: int) -> dict:
    """The host's retained STATE as the broker's own client sees it (online, without time)."""
    from tests.services import require

    out = subprocess.run(
        [
            require("mosquitto_sub"),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-t",
            "spBv1.0/STATE/fieldlab",
            "--retained-only",
            "-W",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=20,
    ).stdout
    state = json.loads(out.strip().splitlines()[-1])
    assert isinstance(state.pop("timestamp"), int)
    return state


def pysparkplug_python() -> str:
    found = ROOT / ".venv-sparkplug" / "bin" / "python"
    if not found.exists():
        missing("pysparkplug", ".ci/run puts it in .venv-sparkplug")
    return str(found)


def test_an_edge_node_of_another_library_is_read_and_its_will_ends_it(tmp_path: Path):
    """pysparkplug's EdgeNode (its own protobuf code, its own seq and bdSeq handling) on a real
    Mosquitto: every count and state it sends is stored at its own time, and its will (NDEATH,
    after it died without a goodbye) writes offline no earlier than it was last heard."""
    python = pysparkplug_python()
    http = free_port()
    with mosquitto() as port:
        site = {
            "store": "sqlite:///fieldlab.db",
            "gateway": {"http": {"port": http}},
            "sources": [
                {
                    "type": "sparkplug",
                    "url": f"mqtt://127.0.0.1:{port}",
                    "groups": ["Plant1"],
                    "host_id": "fieldlab",
                    "machines": {
                        "press-1": {
                            "device": "Plant1/edge-a/press1",
                            "metrics": {
                                "state": {"metric": "Status/State"},
                                "count_total": {"metric": "Counters/Total"},
                            },
                        }
                    },
                }
            ],
        }
        (tmp_path / "site.yaml").write_text(yaml.safe_dump(site))
        with Process("gateway", "-c", str(tmp_path / "site.yaml"), cwd=tmp_path) as gw:
            wait_connected(http)
            edge = subprocess.run(
                [
                    python,
                    str(ROOT / "tests" / "pysparkplug_edge_node.py"),
                    "127.0.0.1",
                    str(port),
                    "40",
                ],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert edge.returncode == 0, edge.stderr
            sent = [json.loads(line) for line in edge.stdout.splitlines()]

            def stored() -> list:
                with SqliteStore(tmp_path / "fieldlab.db", readonly=True) as store:
                    s = store.read("press-1", "state", 0, 10**13)
                    return [str(v) for v in s.values]

            eventually(lambda: stored()[-1:] == ["offline"], "offline from the will", 30)
            assert retained_state(port) == {"online": True}  # the primary host is here
            assert gw.stop() == 0, gw.output
        assert retained_state(port) == {"online": False}  # and said it left
    with SqliteStore(tmp_path / "fieldlab.db", readonly=True) as store:
        counts = store.read("press-1", "count_total", 0, 10**13)
        states = store.read("press-1", "state", 0, 10**13)
    want = [(s["ts"], s["value"]) for s in sent if s["name"] == "Counters/Total"]
    assert list(zip(counts.ts.tolist(), counts.values.tolist(), strict=True)) == want
    got_states = list(zip(states.ts.tolist(), [str(v) for v in states.values], strict=True))
    want_states = [(s["ts"], s["value"]) for s in sent if s["name"] == "Status/State"]
    assert got_states[:-1] == want_states  # running, idle at their own times; then offline
    assert got_states[-1][0] >= max(t for t, _ in want), got_states[-1]
