"""Siemens S7 end to end: the simulator's S7 face (python-snap7's server) → the gateway's S7
connector → SQLite, against the simulator's truth, with the face stopped for 3 s in the middle:
`offline` while it is down, read again within 5 s, and domain.md §3 on return."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
import yaml

from fieldlab.store import SqliteStore
from tests.helpers import MIN, local
from tests.services import mosquitto, settled
from tests.sim_gateway import health, sim_and_gateway
from tests.truth import compare

START = local("2026-03-02 07:00")


@pytest.mark.slow
def test_the_press_on_s7_agrees_with_the_truth_across_a_plc_restart(tmp_path: Path):
    scenario_file = tmp_path / "scenario.yaml"
    data = yaml.safe_load(Path("simulators/scenarios/default.yaml").read_text())
    data["machines"]["press-1"]["faces"] = ["s7"]
    data["machines"]["cnc-1"]["faces"] = ["s7"]
    data["events"] = ["+10m press-1 face s7 restart 3"]
    scenario_file.write_text(yaml.safe_dump(data))
    with (
        mosquitto() as mqtt_port,
        sim_and_gateway(
            tmp_path, mqtt_port, speed="60", minutes=20, scenario_file=scenario_file
        ) as run,
    ):
        site = yaml.safe_load(run.site.read_text())
        s7 = next(s for s in site["sources"] if s["type"] == "s7")
        assert sorted(s7["machines"]) == ["cnc-1", "press-1"]
        run.sim.signal(signal.SIGUSR1)  # go
        assert run.sim.proc.wait(20 + 60) == 0, run.sim.output
        settled(
            lambda: sum(s["samples"] for s in health(run.ports["http"])["sources"]),
            "the last samples",
        )
        report = next(s for s in health(run.ports["http"])["sources"] if s["name"] == "sim-s7")
        assert run.gateway.stop() == 0, run.gateway.output
        log = run.gateway.output
    assert report["reconnects"] >= 1 and report["samples"] > 0, report
    # while the PLC was away: offline, for both machines of that source, ended within 5 s
    with SqliteStore(tmp_path / "gateway.db", readonly=True) as store:
        for m in ("press-1", "cnc-1"):
            states = store.read(m, "state", START, START + 30 * MIN)
            down = [
                (int(t), str(v))
                for t, v in zip(states.ts, states.values, strict=True)
                if START + 9 * MIN < t < START + 16 * MIN
            ]
            offline = [i for i, (_, v) in enumerate(down) if v == "offline"]
            assert offline, (m, down, log[-3000:])
            i = offline[0]
            assert i + 1 < len(down), (m, down)
            gap_s = (down[i + 1][0] - down[i][0]) / 1000 / 60  # wall seconds at 60×
            assert gap_s < 3 + 5, (m, gap_s)
    # nothing lost across the restart: every unit counted, as the truth has them
    for m, (g, t) in compare(run.site, run.truth, 20).items():
        assert (g.total, g.good, g.scrap) == (t.total, t.good, t.scrap), m
        if m not in ("press-1", "cnc-1"):
            assert abs(g.oee - t.oee) < 0.005, m
