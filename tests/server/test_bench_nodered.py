"""The Node-RED comparison's parts that run without Node-RED (the comparison itself is a
benchmark, never run in the tests): its flow, its counting against a real InfluxDB 1.x, and what
it says when Node-RED is not installed."""

from __future__ import annotations

import json
import shutil
import time
from urllib.request import Request, urlopen

import pytest

from fieldlab.bench.nodered import compare
from fieldlab.bench.nodered.install import PACKAGES, node_red
from fieldlab.bench.services import ServiceMissing, influxdb


def test_the_flow_is_wired_and_writes_the_kits_schema():
    flow = compare.FLOW.read_text()
    for key in ("@MQTT_PORT@", "@INFLUX_PORT@", "@DATABASE@", "@CLIENT_ID@"):
        assert key in flow
        flow = flow.replace(key, "1")
    nodes = {n["id"]: n for n in json.loads(flow)}
    kinds = {n["type"] for n in nodes.values()}
    assert {"mqtt in", "json", "function", "join", "influxdb batch"} <= kinds
    for node in nodes.values():
        for wire in node.get("wires", []):
            assert all(target in nodes for target in wire), node["id"]
    mqtt_in = next(n for n in nodes.values() if n["type"] == "mqtt in")
    broker = nodes[mqtt_in["broker"]]
    assert mqtt_in["qos"] == "1" and broker["cleansession"] is False
    assert mqtt_in["topic"] == compare.NodeRed.filter
    assert "measurement: t[4]" in nodes["bench-point"]["func"]  # the signal, as the kit's schema


def test_payloads_keep_each_series_in_time():
    msgs = compare.payloads(1000, 1_000)
    seen: dict[str, int] = {}
    for topic, payload in msgs:
        ts = json.loads(payload)["ts"]
        assert ts > seen.get(topic, 0)
        seen[topic] = ts
    assert len(seen) == compare.MACHINES * compare.SIGNALS


def test_points_counts_every_measurement_whatever_its_field_type():
    """InfluxDB 1.x counts `count(value) FROM /.*/` over one field type only: the gateway's
    string `offline` states were left out and showed as written twice."""
    now = int(time.time() * 1000)
    with influxdb(("db",)) as server:

        def post(lines: list[str]) -> None:
            url = f"http://127.0.0.1:{server.port}/write?db=db&precision=ms"
            urlopen(Request(url, data="\n".join(lines).encode(), method="POST"), timeout=10)

        before = compare.written(server)
        post([f"s0,machine=m{i} value=1.5 {now - 86_400_000 + i}" for i in range(30)])
        post([f'state,machine=m{i} value="offline" {now + i}' for i in range(20)])
        assert compare.points(server, "db") == 30
        assert compare.points(server, "db", everything=True) == 50
        assert compare.written(server) - before == 50


def test_without_node_red_it_says_how_to_get_it(tmp_path):
    with pytest.raises(ServiceMissing) as caught:
        node_red(install=False, folder=tmp_path)
    if shutil.which("node") is None:
        assert "Node.js is not installed" in str(caught.value)
        return
    assert "fieldlab bench nodered --install" in str(caught.value)
    assert all(p in str(caught.value) for p in PACKAGES)
