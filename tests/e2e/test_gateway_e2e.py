"""End to end: scenario → `fieldlab sim` → `fieldlab gateway` → SQLite → OEE and energy, against
the simulator's ground truth, for machines on every protocol (OPC UA, Modbus TCP, MQTT, S7,
Sparkplug B), at 1× and at 60×."""

from __future__ import annotations

import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.helpers import local
from tests.services import mosquitto, settled
from tests.sim_gateway import health, sim_and_gateway
from tests.truth import check, compare

START = local("2026-03-02 07:00")


def run_path(
    tmp: Path, mqtt_port: int, speed: str, minutes: int, scenario_file: Path | None = None
) -> tuple[Path, Path, int]:
    """Run sim and gateway; returns (site file, truth file, http port)."""
    with sim_and_gateway(
        tmp, mqtt_port, speed=speed, minutes=minutes, scenario_file=scenario_file
    ) as run:
        run.sim.signal(signal.SIGUSR1)  # go
        assert run.sim.proc.wait(minutes * 60 / float(speed) + 60) == 0, run.sim.output
        settled(
            lambda: sum(s["samples"] for s in health(run.ports["http"])["sources"]),
            "the last samples",
        )
        assert run.gateway.stop() == 0, run.gateway.output
        assert "Traceback" not in run.gateway.output, run.gateway.output
    return run.site, run.truth, run.ports["http"]


def every_protocol(tmp: Path) -> Path:
    """The default scenario with the press on S7 and the laser on Sparkplug B beside the
    others on OPC UA, Modbus and MQTT."""
    import yaml

    data = yaml.safe_load(Path("simulators/scenarios/default.yaml").read_text())
    data["machines"]["press-1"]["faces"] = ["s7"]
    data["machines"]["laser-1"]["faces"] = ["sparkplug"]
    (tmp / "scenario.yaml").write_text(yaml.safe_dump(data))
    return tmp / "scenario.yaml"


@pytest.mark.slow
def test_gateway_agrees_with_ground_truth_at_1x_and_60x(tmp_path):
    """At 60× every protocol at once (OPC UA, Modbus, MQTT, S7, Sparkplug B): OEE within
    0.5 pp of the truth, every unit counted, energy within 1 %; at 1× the default faces."""
    with mosquitto() as mqtt_a, mosquitto() as mqtt_b, ThreadPoolExecutor(2) as pool:
        (tmp_path / "1x").mkdir()
        (tmp_path / "60x").mkdir()
        scenario = every_protocol(tmp_path / "60x")
        slow = pool.submit(run_path, tmp_path / "1x", mqtt_a, "1", 1)
        fast = pool.submit(run_path, tmp_path / "60x", mqtt_b, "60", 30, scenario)
        site1, truth1, _ = slow.result()
        site60, truth60, _ = fast.result()
    import yaml

    kinds = {s["type"] for s in yaml.safe_load(site60.read_text())["sources"]}
    assert kinds == {"opcua", "modbus", "mqtt", "s7", "sparkplug"}, kinds
    # Modbus and S7 are polled (100 ms: 6 simulated s at 60x): each state boundary of the lathe
    # and the press may come a poll late, two on a loaded runner (a CI run put lathe-1's running
    # kWh 2.2 % off with none allowed); their total kWh stays held to 1 %
    check(compare(site60, truth60, 30), poll_lag_s=2 * 0.1 * 60)
    check(compare(site1, truth1, 1))
