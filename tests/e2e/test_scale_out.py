"""Scale-out beyond one gateway (docs/SCALING.md): two gateway processes share one MQTT
subscription ($share on a real Mosquitto) and split the load with nothing lost or doubled;
OPC UA and Modbus machines partitioned over the two by config; both write to one real InfluxDB."""

from __future__ import annotations

import json
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from fieldlab.simulators.faces.base import FaceSettings, ReadOptions
from fieldlab.simulators.gateway_site import gateway_site_yaml
from fieldlab.simulators.scenario import load_scenario
from fieldlab.store.influxdb import InfluxStore
from tests.conftest import Influx
from tests.services import Process, eventually, free_port
from tests.sim_gateway import health, sim_process, wait_connected, write_site

pytestmark = pytest.mark.slow

N = 20_000


def _site(path: Path, http: int, influx: Influx, sources: list[dict]) -> Path:
    sink = {**influx.sink, "queue": {"path": f"{path.stem}-queue.db"}}
    return write_site(path, http, sources, [sink], store=influx.store_url)


def _count(store: InfluxStore, query: str) -> int:
    rows = store.query(query)
    return sum(int(r["values"][0][1]) for r in rows)


def test_two_gateways_share_an_mqtt_subscription_and_split_the_load(
    tmp_path: Path, influx1: Influx, broker: int
):
    influx, mport = influx1, broker
    store = InfluxStore(influx.store_url)
    ports = [free_port(), free_port()]
    sites = [
        _site(
            tmp_path / f"gw-{k}.yaml",
            ports[k],
            influx,
            [
                {
                    "type": "mqtt",
                    "name": "broker",
                    "url": f"mqtt://127.0.0.1:{mport}",
                    "client_id": f"fieldlab-gw-{k}",  # one per gateway
                    "share_group": "fieldlab",
                    "topics": [{"template": "fieldlab/{site}/{area}/{machine}/{signal}"}],
                }
            ],
        )
        for k in range(2)
    ]
    with (
        Process("gateway", "-c", str(sites[0]), cwd=tmp_path) as a,
        Process("gateway", "-c", str(sites[1]), cwd=tmp_path) as b,
    ):
        wait_connected(ports[0])
        wait_connected(ports[1])
        pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="scale-pub")
        pub.max_inflight_messages_set(100)
        pub.connect("127.0.0.1", mport)
        pub.loop_start()
        infos = [
            pub.publish(
                f"fieldlab/s/a/m{i % 20}/v",
                json.dumps({"ts": 1772427600000 + i, "value": i}),
                qos=1,
            )
            for i in range(N)
        ]
        for info in infos:
            info.wait_for_publish(60)
        pub.loop_stop()
        pub.disconnect()
        eventually(
            lambda: _count(store, 'SELECT count("value") FROM "v"') >= N,
            f"{N} samples stored",
            60,
            detail=lambda: a.output + b.output,
        )
        took = [health(p)["sources"][0]["samples"] for p in ports]
        time.sleep(1)  # anything doubled would arrive now
        stored = _count(store, 'SELECT count("value") FROM "v"')
        total = _count(store, 'SELECT sum("value") FROM "v"')
    print(f"split: {took}")
    # each message went to exactly one gateway; both did a fair share
    assert sum(took) == N, took
    assert min(took) > N * 0.2, took
    assert stored == N and total == sum(range(N))
    # neither claims a shared machine is offline when it stops
    assert _count(store, 'SELECT count("value") FROM "state"') == 0
    assert "Traceback" not in a.output + b.output


def test_opcua_and_modbus_machines_partitioned_over_two_gateways(
    tmp_path: Path, influx1: Influx, broker: int
):
    """The simulator's site, its machines split in two halves by config: each gateway reads only
    its own, together they read all, and both write to the one InfluxDB."""
    influx, mport = influx1, broker
    store = InfluxStore(influx.store_url)
    sim_ports = {"opcua": free_port(), "modbus": free_port()}
    full = yaml.safe_load(
        gateway_site_yaml(
            load_scenario(),
            FaceSettings(ports=sim_ports),
            ReadOptions(poll_ms=200),
        )
    )
    halves: list[list[dict]] = [[], []]
    expected: list[set[str]] = [set(), set()]
    for src in full["sources"]:
        if src["type"] == "opcua":
            names = sorted(src["machines"])
            for k in range(2):
                part = names[k::2]
                if part:
                    halves[k].append({**src, "machines": {m: src["machines"][m] for m in part}})
                    expected[k] |= set(part)
        elif src["type"] == "modbus":
            for k in range(2):
                part = src["devices"][k::2]
                if part:
                    halves[k].append({**src, "devices": part})
                    expected[k] |= {d["machine"] for d in part}
    assert expected[0] and expected[1] and not expected[0] & expected[1]
    ports = [free_port(), free_port()]
    sites = [_site(tmp_path / f"part-{k}.yaml", ports[k], influx, halves[k]) for k in range(2)]
    with (
        sim_process(sim_ports, mport, "--faces", "opcua,modbus", speed="60") as sim,
        Process("gateway", "-c", str(sites[0]), cwd=tmp_path) as a,
        Process("gateway", "-c", str(sites[1]), cwd=tmp_path) as b,
    ):
        sim.wait_for("serving")
        wait_connected(ports[0])
        wait_connected(ports[1])
        everyone = expected[0] | expected[1]

        def seen() -> set[str]:
            rows = store.query('SELECT count("value") FROM "state" GROUP BY "machine"')
            return {r["tags"]["machine"] for r in rows}

        eventually(lambda: seen() >= everyone, "a state from every machine", detail=seen)
        reports = [health(p) for p in ports]
    assert seen() == everyone, (seen(), everyone)
    for k in range(2):
        assert all(s["state"] == "connected" for s in reports[k]["sources"]), reports[k]
        assert all(s["samples"] > 0 for s in reports[k]["sources"]), reports[k]
    assert "Traceback" not in a.output + b.output
