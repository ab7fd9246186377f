"""The Unified Namespace out: every sample the gateway stores reaches a subscriber of the ISA-95
tree on a real Mosquitto, across a broker restart (the durable queue keeps them), with the
latest state and the shift's OEE retained for whoever subscribes later."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from collections import defaultdict
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
import yaml

from fieldlab.store import SqliteStore
from tests.helpers import local
from tests.services import eventually, mosquitto, mosquitto_process, require, settled
from tests.sim_gateway import health, sim_and_gateway

START = local("2026-03-02 07:00")


class Subscriber:
    """A Node-RED-like subscriber with a persistent session (QoS 1): what the broker queued
    for it while it was away arrives when it is back."""

    def __init__(self, port: int, topic: str, client_id: str, clean: bool = False):
        self.got: list[tuple[str, dict, bool]] = []
        self._lock = threading.Lock()
        self.c = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean
        )
        self.c.reconnect_delay_set(0.1, 0.5)
        self.c.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
        self.c.on_message = self._message
        self.c.connect("127.0.0.1", port)
        self.c.loop_start()

    def _message(self, _c, _u, msg) -> None:
        with self._lock:
            self.got.append((msg.topic, json.loads(msg.payload), bool(msg.retain)))

    def close(self) -> None:
        self.c.loop_stop()
        self.c.disconnect()


@pytest.mark.slow
def test_every_stored_sample_reaches_the_uns_across_a_broker_restart(tmp_path: Path):
    (tmp_path / "uns").mkdir()
    uns = mosquitto_process(
        tmp_path / "uns", f"persistence true\npersistence_location {tmp_path / 'uns'}/\n"
    )
    uns.start()
    sub = Subscriber(uns.port, "acme/#", "node-red")
    sink = {
        "type": "mqtt",
        "url": f"mqtt://127.0.0.1:{uns.port}",
        "enterprise": "acme",
        "oee_every_s": 1,
    }
    try:
        with (
            mosquitto() as sim_port,
            sim_and_gateway(
                tmp_path, sim_port, speed="60", minutes=8, site_extra={"sinks": [sink]}
            ) as run,
        ):
            run.sim.signal(signal.SIGUSR1)  # go
            time.sleep(2)
            uns.stop()  # the UNS broker away for 3 s while samples keep coming
            time.sleep(3)
            uns.start()
            assert run.sim.proc.wait(8 + 60) == 0, run.sim.output
            settled(
                lambda: sum(s["samples"] for s in health(run.ports["http"])["sources"]),
                "the last samples",
            )

            def drained() -> dict | None:
                s = next(s for s in health(run.ports["http"])["sinks"] if s["name"] == "uns")
                return s if s["queued_points"] == 0 and s["up"] else None

            report = eventually(drained, "the UNS queue drained", 60)
            assert run.gateway.stop() == 0, run.gateway.output
        assert report["published"] > 0, report
        with SqliteStore(tmp_path / "gateway.db", readonly=True) as store:
            latest = {(s.machine, s.signal): s for s in store.latest()}
            stored = {key: {int(t) for t in store.read(*key, 0, 10**13).ts} for key in latest}
        eventually(
            lambda: {t for t, _, _ in sub.got if t.endswith("/count_total")},
            "count messages",
            10,
        )
        time.sleep(1)
        seen: dict[tuple[str, str], set[int]] = defaultdict(set)
        for topic, body, _ in sub.got:
            parts = topic.split("/")
            assert parts[:2] == ["acme", "demo"], topic
            if parts[-1] != "oee":
                seen[(parts[4], parts[5])].add(body["ts"])
        for key, times in stored.items():
            assert seen[key] == times, (key, len(seen[key]), len(times))
        # an example message: time, value and unit
        power = next(b for t, b, _ in sub.got if t.endswith("/cnc-1/power_kw"))
        assert power["unit"] == "kW" and power["time"].startswith("2026-03-02T")
        assert next(t for t, *_ in sub.got if "/cnc-1/" in t).startswith(
            "acme/demo/machining/line/cnc-1/"  # the scenario's area
        )
    except BaseException:
        uns.stop()  # every test stops what it starts, also when it fails
        raise
    finally:
        sub.close()
    # someone who subscribes later (mosquitto_sub, the broker's own client) gets every
    # machine's state and shift OEE at once, from the retained messages
    try:
        out = subprocess.run(
            [
                require("mosquitto_sub"),
                "-h",
                "127.0.0.1",
                "-p",
                str(uns.port),
                "-t",
                "acme/#",
                "-v",
                "--retained-only",
                "-W",
                "3",
            ],
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout
    finally:
        uns.stop()
    retained = {
        tuple(line.split(" ", 1)[0].split("/")[4:]): json.loads(line.split(" ", 1)[1])
        for line in out.splitlines()
    }
    for (m, signal_), s in latest.items():
        if signal_ == "state":
            assert retained[(m, "state")]["value"] == s.value, m
            assert "oee" in retained[(m, "oee")] and "shift" in retained[(m, "oee")], m


def test_a_source_that_would_read_the_uns_back_is_refused():
    from fieldlab.config import ConfigError
    from fieldlab.gateway.config import parse_gateway_config

    site = {
        "site": "demo",
        "sources": [
            {
                "type": "mqtt",
                "url": "mqtt://127.0.0.1:1883",
                "topics": [{"template": "+/demo/{area}/{machine}/{signal}/x"}],
            },
        ],
        "sinks": [{"type": "mqtt", "url": "mqtt://127.0.0.1:1883", "enterprise": "acme"}],
    }
    parse_gateway_config(yaml.safe_dump(site))  # five levels below the site: not the UNS's
    site["sources"][0]["topics"] = [{"template": "{x}/demo/{area}/{line}/{machine}/{signal}"}]
    with pytest.raises(ConfigError, match=r"sources\[0\]\.topics: \+/demo/\+/\+/\+/\+ on 127"):
        parse_gateway_config(yaml.safe_dump(site), "site.yaml")
    site["sinks"][0]["url"] = "mqtt://127.0.0.1:1884"  # another broker: no loop
    parse_gateway_config(yaml.safe_dump(site))
