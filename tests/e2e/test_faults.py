"""Fault suite (pytest -m fault): real processes killed and restarted under a stream of data,
and devices that hang or crawl. Bounded in time and count; every test stops what it starts.

The store-and-forward faults (InfluxDB down, gateway restarted inside the outage, queue cap
overflow) are in tests/e2e/test_store_and_forward.py; OPC UA and Modbus faces restarted mid-run in
tests/e2e/test_gateway_reconnect.py. Both carry the `fault` mark too."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from tests.fault_injectors import HungDevice, SlowProxy
from tests.helpers import stored
from tests.services import (
    Process,
    descendants,
    eventually,
    free_port,
    mosquitto_21,
    mosquitto_process,
    running,
    wait_port,
)
from tests.sim_gateway import health, wait_connected, write_site

#: 50,000 messages through killed and restarted processes, at full speed: alone
#: SIGKILL and process groups (POSIX)
pytestmark = [
    pytest.mark.posix,
    pytest.mark.slow,
    pytest.mark.fault,
    pytest.mark.serial,
]

N = 50_000
BASE_TS = 1772427600000


class Publisher(threading.Thread):
    """N QoS 1 messages as fast as the broker takes them, one sample each, over a persistent
    session that survives a broker restart (paho queues and resends what was not acked)."""

    def __init__(self, port: int, n: int = N):
        super().__init__(daemon=True)
        self.port, self.n, self.sent = port, n, 0
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id="fault-publisher", clean_session=False
        )
        self.client.max_inflight_messages_set(100)
        self.client.reconnect_delay_set(0.1, 1)

    def run(self) -> None:
        self.client.connect("127.0.0.1", self.port)
        self.client.loop_start()
        for i in range(self.n):
            payload = json.dumps({"ts": BASE_TS + i, "value": i})
            self.client.publish(f"fieldlab/f/a/m{i % 10}/v", payload, qos=1)
            self.sent = i + 1
            if i % 1000 == 999:
                # keep paho's own queue short: it rescans it on every acknowledgement
                while len(self.client._out_messages) > 5000:
                    time.sleep(0.01)

    def wait_acked(self, timeout: float) -> None:
        """Until the broker acknowledged every message (paho's queue is empty)."""
        self.join(timeout)
        queue = self.client._out_messages  # paho keeps no public count
        eventually(lambda: not queue, "every message acked", timeout, detail=lambda: len(queue))
        self.client.loop_stop()
        self.client.disconnect()


@contextlib.contextmanager
def broker_folder() -> Iterator[Path]:
    """A folder Mosquitto can write its persistence file to, also after dropping root."""
    folder = Path(tempfile.mkdtemp(prefix="fieldlab-fault-"))
    folder.chmod(0o777)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def mqtt_site(tmp: Path, mqtt_port: int, http: int, workers: int | str = 1) -> Path:
    """The gateway in one process, or with `workers` processes on $share subscriptions."""
    source = {
        "type": "mqtt",
        "name": "broker",
        "url": f"mqtt://127.0.0.1:{mqtt_port}",
        "client_id": "fault-gateway",
    }
    site = write_site(tmp / "site.yaml", http, [source])
    doc = yaml.safe_load(site.read_text())
    doc["gateway"]["workers"] = workers
    site.write_text(yaml.safe_dump(doc))
    return site


#: one process, and worker processes on shared subscriptions (docs/SCALING.md)
WORKERS = pytest.mark.parametrize("workers", [1, "auto"])


def wait_stored(db: Path, n: int, timeout: float, gw: Process) -> None:
    eventually(
        lambda: db.exists() and stored(db)[0] >= n,
        f"{n} samples stored",
        timeout,
        detail=lambda: f"{stored(db) if db.exists() else 'no store'}\n{gw.output}",
    )


@WORKERS
@pytest.mark.xdist_group("timing")
def test_mosquitto_restarted_mid_stream_loses_nothing(tmp_path: Path, workers: int | str):
    """One process on Debian's Mosquitto 2.0 with its persistence file; with workers, on
    `$share` subscriptions, Mosquitto 2.1 with its persist-sqlite plugin: 2.0 (2.0.11 and 2.0.21
    alike) does not keep shared subscriptions over a restart and drops what is published before
    the workers subscribe again, 2.1's plugin keeps them (docs/SCALING.md). Either way every
    message is stored exactly once."""
    if workers == 1:
        binary, conf = None, "persistence true\nautosave_interval 1\n"
    else:
        binary, plugin = mosquitto_21()
        conf = f"global_plugin {plugin}\nuser root\n"  # root: the plugin is read after the drop
    with broker_folder() as folder:
        broker = mosquitto_process(folder, f"{conf}persistence_location {folder}/\n", binary)
        broker.start()
        http = free_port()
        db = tmp_path / "gateway.db"
        try:
            with Process(
                "gateway", "-c", str(mqtt_site(tmp_path, broker.port, http, workers)), cwd=tmp_path
            ) as gw:
                wait_connected(http)
                pub = Publisher(broker.port)
                pub.start()
                eventually(lambda: pub.sent >= N // 3, "a third published")
                broker.stop()  # SIGTERM: Mosquitto saves its sessions and queues
                time.sleep(1)
                broker.start()
                pub.wait_acked(120)
                wait_stored(db, N, 120, gw)
                report = health(http)
        finally:
            log = broker.stop()
    count, distinct = stored(db)
    assert count == distinct == N, log[-2000:]  # every sample once; resends harmless
    assert report["sources"][0]["reconnects"] >= 1
    assert "Traceback" not in gw.output
    if workers != 1:  # both took a share, and the source counts what all of them took
        shares = [w["samples"] for w in report["workers"]]
        assert len(shares) == (os.cpu_count() or 1) and min(shares) > 0, shares
        assert sum(shares) == report["sources"][0]["samples"] >= count


@WORKERS
# a group of its own: it runs on whichever serial worker is free first (the pages one, by the
# durations: timing ~190 s, pages ~170 s, this ~20 s), never beside another stream
@pytest.mark.xdist_group("streams")
def test_gateway_killed_mid_stream_loses_nothing(tmp_path: Path, workers: int | str):
    with broker_folder() as folder:
        broker = mosquitto_process(folder)
        broker.start()
        http = free_port()
        site = mqtt_site(tmp_path, broker.port, http, workers)
        try:
            gw = Process("gateway", "-c", str(site), cwd=tmp_path)
            wait_connected(http)
            pub = Publisher(broker.port)
            pub.start()
            eventually(lambda: pub.sent >= N // 3, "a third published")
            children = descendants(gw.proc.pid)
            assert len(children) >= (1 if workers == 1 else 2), children
            gw.signal(signal.SIGKILL)  # no flush, no goodbye
            gw.stop()
            # the workers stop with the gateway that started them: none reads on unseen
            eventually(lambda: not running(children), "the workers gone", 10, detail=children)
            killed_at = pub.sent
            gw = Process("gateway", "-c", str(site), cwd=tmp_path)
            pub.wait_acked(120)
            wait_stored(tmp_path / "gateway.db", N, 120, gw)
            assert gw.stop() == 0
        finally:
            broker.stop()
    assert killed_at < N
    assert stored(tmp_path / "gateway.db") == (N, N)


def _modbus_source(name: str, port: int, machine: str) -> dict:
    """The load server's first value: FLOAT32 in holding registers 0-1 of unit 1."""
    return {
        "type": "modbus",
        "name": name,
        "host": "127.0.0.1",
        "port": port,
        "poll_interval_ms": 200,
        "timeout_s": 1,
        "devices": [
            {"unit": 1, "machine": machine, "fields": {"power": {"address": 0, "type": "FLOAT32"}}}
        ],
    }


@pytest.mark.xdist_group("timing")
def test_hung_and_slow_devices_never_delay_the_others_and_reconnect_when_back(tmp_path: Path):
    """A good device (the simulators' Modbus load server), slow ones (Modbus and OPC UA load
    servers behind a 300 ms proxy) and hung ones (Modbus and OPC UA ports that accept and never
    answer). The good device keeps its 200 ms poll rhythm; the slow ones keep reading; the hung
    ones are offline; when real servers take over the hung ports, both are read within 5 s."""
    from fieldlab.simulators.load import LoadSpec, start_load, stop_load

    good, slow_up, slow, hung_mb, hung_ua, slow_ua_up, slow_ua, http = (
        free_port() for _ in range(8)
    )
    procs = start_load("modbus", LoadSpec(1, 4, 5.0), port=good, processes=1)
    procs += start_load("modbus", LoadSpec(1, 4, 5.0), port=slow_up, processes=1)
    procs += start_load("opcua", LoadSpec(1, 2, 2.0), port=slow_ua_up, processes=1)
    hung = [HungDevice(hung_mb), HungDevice(hung_ua)]
    proxies = [SlowProxy(slow, slow_up, 0.3), SlowProxy(slow_ua, slow_ua_up, 0.3)]
    ua_node = {"power": {"node": "nsu=urn:fieldlab-kit:simulator;s=load-0.v0"}}
    site = write_site(
        tmp_path / "site.yaml",
        http,
        [
            _modbus_source("good", good, "good-1"),
            _modbus_source("slow", slow, "slow-1"),
            _modbus_source("hung", hung_mb, "hung-1"),
            {
                "type": "opcua",
                "name": "hung-ua",
                "url": f"opc.tcp://127.0.0.1:{hung_ua}/fieldlab/",
                "timeout_s": 1,
                "machines": {"hung-2": ua_node},
            },
            {
                "type": "opcua",
                "name": "slow-ua",
                "url": f"opc.tcp://127.0.0.1:{slow_ua}/fieldlab/",
                "timeout_s": 2,
                "machines": {"slow-2": ua_node},
            },
        ],
    )
    try:
        wait_port(good, 60)  # spawned processes import pymodbus first: slow on a busy box
        wait_port(slow_up, 60)
        wait_port(slow_ua_up, 60)
        with Process("gateway", "-c", str(site), cwd=tmp_path) as gw:
            wait_port(http)
            eventually(
                lambda: all(_source(http, n)["samples"] for n in ("good", "slow", "slow-ua")),
                "samples from the good and slow devices",
                detail=lambda: gw.output,
            )
            eventually(
                lambda: all(_source(http, n)["errors"] for n in ("hung", "hung-ua")),
                "the hung devices timed out once",
                detail=lambda: gw.output,
            )
            g0, s0, t0 = (
                _source(http, "good")["samples"],
                _source(http, "slow")["samples"],
                time.monotonic(),
            )
            time.sleep(6)
            g1, s1, t1 = (
                _source(http, "good")["samples"],
                _source(http, "slow")["samples"],
                time.monotonic(),
            )
            # good: one value every 200 ms = 5/s; scheduling slack allowed, hung-device delays not
            assert (g1 - g0) / (t1 - t0) >= 4, (g1 - g0) / (t1 - t0)
            # slow: each poll waits 300 ms more, so fewer polls, but it keeps reading
            assert s1 > s0 and _source(http, "slow")["state"] == "connected"
            ua0 = _source(http, "slow-ua")["samples"]
            time.sleep(2)  # values change at 2 Hz: the slow OPC UA server keeps delivering
            assert _source(http, "slow-ua")["samples"] > ua0
            assert _source(http, "slow-ua")["state"] == "connected"
            for name in ("hung", "hung-ua"):
                src = _source(http, name)
                assert src["samples"] == 0 and src["errors"] >= 1, src
                assert src["state"] != "connected" and src["machines_offline"], src
            assert all(h.accepted >= 1 for h in hung)

            # the hung devices come back as real ones on the same ports
            for device in hung:
                device.close()
            procs += start_load("modbus", LoadSpec(1, 4, 5.0), port=hung_mb, processes=1)
            procs += start_load("opcua", LoadSpec(1, 2, 2.0), port=hung_ua, processes=1)
            for port, name in ((hung_mb, "hung"), (hung_ua, "hung-ua")):
                wait_port(port, 60)
                eventually(
                    lambda name=name: _source(http, name)["samples"],
                    f"{name} read again within 5 s of its return",
                    timeout=5,
                    detail=lambda: gw.output,
                )
            assert "Traceback" not in gw.output
    finally:
        for proxy in proxies:
            proxy.close()
        for h in hung:
            h.close()
        stop_load(procs)


def _source(http: int, name: str) -> dict:
    return next(s for s in health(http)["sources"] if s["name"] == name)
