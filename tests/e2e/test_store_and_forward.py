"""Store-and-forward: InfluxDB stopped mid-run at 1,000 samples/s, the gateway SIGKILLed and
restarted while it is down; after recovery every sample is in InfluxDB exactly once. With the
queue capped low, the overflow policy drops the oldest and counts exactly what it dropped.
Real Mosquitto, real InfluxDB."""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from fieldlab.store.influxdb import InfluxStore
from tests.services import (
    InfluxProcess,
    Process,
    eventually,
    free_port,
    influx_process,
    wait_port,
)
from tests.sim_gateway import write_site

N = 12_000
RATE = 1000  # samples/s


#: SIGKILL (POSIX)
pytestmark = [pytest.mark.posix, pytest.mark.fault]


def publish(port: int, done: threading.Event) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-publisher")
    client.max_inflight_messages_set(100)
    client.connect("127.0.0.1", port)
    client.loop_start()
    t0 = time.monotonic()
    infos = []
    for i in range(N):
        payload = json.dumps({"ts": 1772427600000 + i, "value": float(i)})
        infos.append(client.publish(f"fieldlab/t/a/m{i % 4}/v", payload, qos=1))
        lag = t0 + i / RATE - time.monotonic()
        if lag > 0:
            time.sleep(lag)
    for info in infos:
        info.wait_for_publish(30)
    client.loop_stop()
    client.disconnect()
    done.set()


def site_with_influx(tmp: Path, mqtt_port: int, influx_port: int, http: int, queue: dict) -> Path:
    source = {
        "type": "mqtt",
        "name": "broker",
        "url": f"mqtt://127.0.0.1:{mqtt_port}",
        "protocol": "3.1.1",
    }
    sink = {
        "type": "influxdb",
        "api": "v1",
        "url": f"http://127.0.0.1:{influx_port}",
        "database": "fieldlab",
        "queue": queue,
    }
    return write_site(
        tmp / "site.yaml",
        http,
        [source],
        [sink],
        store=f"influxdb://127.0.0.1:{influx_port}/fieldlab",
    )


def influx_with_database(tmp: Path) -> tuple[InfluxProcess, InfluxStore]:
    influx = influx_process(tmp)
    influx.start()
    store = InfluxStore(f"influxdb://127.0.0.1:{influx.port}/fieldlab")
    store.create_database()
    return influx, store


@pytest.mark.slow
def test_outage_and_gateway_kill_lose_nothing_and_double_nothing(tmp_path: Path, broker: int):
    influx, store = influx_with_database(tmp_path)
    port = influx.port
    http = free_port()
    try:
        mqtt_port = broker
        site = site_with_influx(tmp_path, mqtt_port, port, http, {"path": "queue.db"})
        gw = Process("gateway", "-c", str(site), cwd=tmp_path)
        gw.wait_for("broker: connected")
        done = threading.Event()
        threading.Thread(target=publish, args=(mqtt_port, done), daemon=True).start()
        time.sleep(3)
        influx.stop()  # the database goes away
        time.sleep(3)
        gw.signal(signal.SIGKILL)  # and the gateway dies hard while it is away
        gw.stop()
        time.sleep(1)
        gw = Process("gateway", "-c", str(site), cwd=tmp_path)
        gw.wait_for("broker: connected")
        time.sleep(2)
        influx.start()  # back after ~6 s
        assert done.wait(60)
        wait_port(http)
        # a loaded runner drains slower: say how far it got if it never gets there
        eventually(
            lambda: _stored(store) >= N,
            f"{N} samples stored",
            120,
            detail=lambda: f"{_stored(store)} stored\n{gw.output}",
        )
        assert gw.stop() == 0
        counts = store.query('SELECT count("value") FROM "v" GROUP BY "machine"')
        assert sum(s["values"][0][1] for s in counts) == N  # every sample, once
        assert {s["tags"]["machine"]: s["values"][0][1] for s in counts} == {
            f"m{k}": N // 4 for k in range(4)
        }
        values = store.query('SELECT sum("value") FROM "v"')[0]["values"][0][1]
        assert values == sum(range(N))
    finally:
        influx.stop()


def _metric(http: int, name: str) -> float:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{http}/metrics", timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name):
                return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no {name} in /metrics")


@pytest.mark.slow
def test_queue_cap_overflow_drops_the_oldest_and_counts_exactly(tmp_path: Path, broker: int):
    influx, store = influx_with_database(tmp_path)
    port = influx.port
    http = free_port()
    try:
        mqtt_port = broker
        # ~60 KB: about 1,300 points; the outage brings ~8,000
        site = site_with_influx(
            tmp_path, mqtt_port, port, http, {"path": "queue.db", "max_mb": 0.06}
        )
        gw = Process("gateway", "-c", str(site), cwd=tmp_path)
        gw.wait_for("broker: connected")
        done = threading.Event()
        threading.Thread(target=publish, args=(mqtt_port, done), daemon=True).start()
        time.sleep(2)
        influx.stop()
        time.sleep(4)
        assert gw.stop() == 0, gw.output  # a restart inside the outage: queue and counts stay
        first = gw.output
        gw = Process("gateway", "-c", str(site), cwd=tmp_path)
        gw.wait_for("broker: connected")
        time.sleep(4)
        influx.start()
        assert done.wait(60)
        wait_port(http)
        eventually(
            lambda: _metric(http, "fieldlab_sink_queued_points") == 0 and _stored(store),
            "the queue drained into InfluxDB",
            120,
            detail=lambda: f"{_stored(store)} stored\n{gw.output}",
        )
        dropped = _metric(http, "fieldlab_sink_dropped_points_total")
        sent = _metric(http, "fieldlab_sink_sent_points_total")
        assert gw.stop() == 0, gw.output
        stored = _stored(store)
        everything = sum(
            int(r["values"][0][1]) for r in store.query('SELECT count("value") FROM /.*/')
        )
        assert dropped > 1000  # the policy acted
        # every point the gateway took is in InfluxDB or counted as dropped: the N published,
        # plus the `offline` state it wrote for each of the 4 machines at the restart
        assert everything + dropped == N + 4, (everything, dropped, stored, sent, first, gw.output)
        assert sent == everything, (everything, dropped, stored, sent)
        # drop_oldest: what is missing is one run of the oldest queued, the newest all arrived
        times = [row[0] for row in store.query('SELECT "value" FROM "v"')[0]["values"]]
        assert len(times) == stored and len(set(times)) == stored
        values = sorted(int(v[1]) for v in store.query('SELECT "value" FROM "v"')[0]["values"])
        assert values[-1] == N - 1, (values[-5:], everything, dropped, sent, gw.output[-3000:])
    finally:
        influx.stop()


def _stored(store: InfluxStore) -> int:
    counts = store.query('SELECT count("value") FROM "v"')
    return int(counts[0]["values"][0][1]) if counts else 0
