"""Sparkplug B end to end: the simulator's edge nodes (one per area, a device per machine) on a
real Mosquitto → the gateway's Sparkplug host → SQLite, against the truth; a seq gap and data
before a birth are counted and answered with a Rebirth; a dropped edge node's will (NDEATH)
writes `offline` at the instant it was last heard, and its next birth brings it back."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
import yaml

from fieldlab.store import SqliteStore
from tests.helpers import MIN, local
from tests.services import mosquitto, settled
from tests.sim_gateway import health, sim_and_gateway
from tests.test_gateway_e2e import compare

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
    ]
    scenario_file.write_text(yaml.safe_dump(data))
    with (
        mosquitto() as mqtt_port,
        sim_and_gateway(
            tmp_path, mqtt_port, speed="60", minutes=20, scenario_file=scenario_file
        ) as run,
    ):
        run.sim.signal(signal.SIGUSR1)  # go
        assert run.sim.proc.wait(20 + 60) == 0, run.sim.output
        settled(
            lambda: sum(s["samples"] for s in health(run.ports["http"])["sources"]),
            "the last samples",
        )
        report = next(
            s for s in health(run.ports["http"])["sources"] if s["name"] == "sim-sparkplug"
        )
        assert run.gateway.stop() == 0, run.gateway.output
    # the seq gap (one per edge node) was noticed
    assert report["errors"] >= 2 and report["samples"] > 0, report
    with SqliteStore(tmp_path / "gateway.db", readonly=True) as store:
        for m in ON_SPB:
            s = store.read(m, "state", START, START + 30 * MIN)
            seen = [(int(t), str(v)) for t, v in zip(s.ts, s.values, strict=True)]
            gap = [(t, v) for t, v in seen if START + 9 * MIN < t < START + 16 * MIN]
            offline = [i for i, (_, v) in enumerate(gap) if v == "offline"]
            assert offline, (m, gap)
            t_off = gap[offline[0]][0]
            back = gap[offline[0] + 1][0] if offline[0] + 1 < len(gap) else None
            assert back is not None and 60_000 <= back - t_off <= 6 * MIN, (m, gap)
            assert abs(t_off - (START + 10 * MIN)) < 2 * MIN, (m, t_off - START)
    # nothing lost: every unit counted, as the truth has them
    for m, (g, t) in compare(run.site, run.truth, 20).items():
        assert (g.total, g.good, g.scrap) == (t.total, t.good, t.scrap), m
        if m not in ON_SPB:
            assert abs(g.oee - t.oee) < 0.005, m
