"""Bad payloads, Modbus exception responses and OPC UA bad status codes are counted, visible in
/metrics and kept in the rejected table with their reason, and the good data keeps flowing."""

from __future__ import annotations

import signal
import urllib.request
from pathlib import Path

import pytest
import yaml

from fieldlab.store import SqliteStore
from tests.services import mosquitto, settled
from tests.sim_gateway import health, sim_and_gateway


@pytest.mark.slow
def test_bad_input_is_counted_kept_and_the_rest_flows(tmp_path: Path):
    data = yaml.safe_load(Path("simulators/scenarios/default.yaml").read_text())
    data["events"] = [
        "+1m press-1 face modbus exceptions 4",
        "+1m cnc-1 face opcua bad_status cnc-1",
        "+2m cnc-1 face opcua good_status cnc-1",
        "+1m filler-1 face mqtt malformed 3",
        "+1m filler-1 face mqtt nan",
        "+1m filler-1 face mqtt out_of_range",
        "+1m filler-1 face mqtt oversized",
    ]
    scenario_file = tmp_path / "scenario.yaml"
    scenario_file.write_text(yaml.safe_dump(data))
    with (
        mosquitto() as mqtt_port,
        sim_and_gateway(
            tmp_path, mqtt_port, speed="30", minutes=4, scenario_file=scenario_file
        ) as run,
    ):
        run.sim.signal(signal.SIGUSR1)
        assert run.sim.proc.wait(60) == 0
        settled(
            lambda: sum(s["samples"] for s in health(run.ports["http"])["sources"]),
            "the last samples",
        )
        with urllib.request.urlopen(f"http://127.0.0.1:{run.ports['http']}/metrics") as r:
            metrics = r.read().decode()
        run.gateway.stop()
    # /metrics as Prometheus reads it: prometheus_client's own parser, declared types, help.
    from prometheus_client.parser import text_string_to_metric_families

    families = {f.name: f for f in text_string_to_metric_families(metrics)}
    for name, kind in (
        ("fieldlab_source_samples", "counter"),
        ("fieldlab_source_rejected", "counter"),
        ("fieldlab_source_connected", "gauge"),
        ("fieldlab_sink_written", "counter"),
        ("fieldlab_pipeline_queued_batches", "gauge"),
    ):
        assert families[name].type == kind, (name, families[name].type)
    assert all(f.documentation for f in families.values())
    rejected = {
        s.labels["source"]: s.value
        for s in families["fieldlab_source_rejected"].samples
        if s.name == "fieldlab_source_rejected_total"
    }
    assert rejected["sim-mqtt"] == 6  # 3 malformed, NaN, a negative counter, 2 MB
    assert rejected["sim-modbus"] >= 1  # 4 exception responses over the device's blocks
    assert rejected["sim-opcua"] >= 5  # every value of cnc-1, written with a bad status
    with SqliteStore(tmp_path / "gateway.db", readonly=True) as store:
        records = store.rejected(1000)
        reasons = [r.reason for r in records]
        # domain.md §10: the same reason from the same topic again is one record with repeats
        assert sum(1 + r.repeats for r in records if "not valid JSON" in r.reason) == 3
        assert any("NaN is not a value" in r for r in reasons)
        assert any("count_total must be a whole number >= 0" in r for r in reasons)
        assert any("Modbus exception 4 (device failure)" in r for r in reasons)
        assert any("bad status BadSensorFailure for cnc-1/state" in r for r in reasons)
        big = next(r for r in records if len(r.payload) > 1000)
        assert big.payload.endswith("chars)") and big.source.startswith("mqtt:sim-mqtt:fieldlab/")
        # the good data kept flowing after the faults, on every protocol
        for machine in ("cnc-1", "press-1", "filler-1"):
            newest = max(s.ts for s in store.latest(machine))
            assert newest > 1772431200000 + 3 * 60_000, machine  # past 07:03 simulated
