"""MQTT face: every sample of a machine published as it happens (paho-mqtt, QoS 1).

Topics ``fieldlab/<site>/<area>/<machine>/<signal>``, payload ``{"ts": <epoch ms>, "value": …}``;
``state`` and ``product`` are retained so a new subscriber learns the current ones at once.
The broker is external (Mosquitto, or the demo's embedded amqtt): ``--mqtt mqtt://host:port``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from typing import Any
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from fieldlab.domain.samples import Sample
from fieldlab.simulators.faces.base import FaceSettings, ReadOptions
from fieldlab.simulators.scenario import Scenario

log = logging.getLogger("fieldlab.sim.mqtt")
RETAINED = frozenset({"state", "product"})


#: the operators' terminals publish under this area (a tablet is no machine's face)
TERMINAL_AREA = "terminal"


def topic_for(site: str, area: str, machine: str, signal: str) -> str:
    return f"fieldlab/{site}/{area}/{machine}/{signal}"


def gateway_source(
    scenario: Scenario, machines: list[str], settings: FaceSettings, read: ReadOptions
) -> dict[str, Any]:
    """The gateway's `type: mqtt` source: every machine's topics by one template."""
    return {
        "type": "mqtt",
        "name": "sim-mqtt",
        "url": settings.mqtt_url,
        "client_id": f"fieldlab-gateway-{scenario.site}",
        "protocol": read.mqtt_protocol,
        "topics": [{"template": f"fieldlab/{scenario.site}/{{area}}/{{machine}}/{{signal}}"}],
    }


def terminals_source(
    scenario: Scenario, settings: FaceSettings, read: ReadOptions
) -> dict[str, Any]:
    """The simulated operators' tablets (simulators/operators.py): orders, reasons, scrap."""
    return {
        "type": "mqtt",
        "name": "sim-terminals",
        "url": settings.mqtt_url,
        "client_id": f"fieldlab-gateway-{scenario.site}-terminals",
        "protocol": read.mqtt_protocol,
        # a tablet is not how the gateway sees a machine: its loss is no machine's
        "machine_contact": False,
        "topics": [
            {"template": f"fieldlab/{scenario.site}/{TERMINAL_AREA}/{{machine}}/{{signal}}"}
        ],
    }


class MqttFace:
    name = "mqtt"

    def __init__(
        self,
        scenario: Scenario,
        machines: list[str],
        settings: FaceSettings,
        terminal: bool = False,
    ):
        """``terminal``: the simulated operators' tablets (what people enter at these
        machines), published under `fieldlab/<site>/terminal/<machine>/<signal>`."""
        self.scenario = scenario
        self.machines = set(machines)
        self.terminal = terminal
        if terminal:
            self.name = "terminals"
        url = urlparse(settings.mqtt_url)
        self.host = url.hostname or "127.0.0.1"
        self.tls = url.scheme in ("mqtts", "ssl")
        self.port = url.port or (8883 if self.tls else 1883)
        self.username, self.password = url.username, url.password
        self._topics = {
            m: topic_for(
                scenario.site, TERMINAL_AREA if terminal else scenario.machines[m].area, m, ""
            )
            for m in machines
        }
        self._client: mqtt.Client | None = None
        self._connected = threading.Event()
        self.published = 0
        self._last: mqtt.MQTTMessageInfo | None = None

    def _make_client(self) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"fieldlab-sim-{self.scenario.site}"
            + ("-terminals" if self.terminal else ""),
        )
        client.max_inflight_messages_set(100)
        if self.username:
            client.username_pw_set(self.username, self.password)
        if self.tls:
            client.tls_set()
        client.on_connect = lambda c, u, f, rc, p: (
            self._connected.set()
            if not rc.is_failure
            else log.warning("MQTT connect refused: %s", rc)
        )
        client.on_disconnect = lambda c, u, f, rc, p: self._connected.clear()
        return client

    async def start(self, sim_now: int = 0) -> None:
        self._client = self._make_client()
        self._client.connect_async(self.host, self.port, keepalive=30)
        self._client.loop_start()
        ok = await asyncio.to_thread(self._connected.wait, 10)
        if not ok:
            raise ConnectionError(f"MQTT broker at {self.host}:{self.port} did not answer")

    async def stop(self) -> None:
        if self._client is not None:
            await asyncio.to_thread(self._drain, 5.0)
            self._client.disconnect()
            self._client.loop_stop()
            self._client = None

    def _drain(self, timeout: float) -> None:
        import time

        deadline = time.monotonic() + timeout
        client = self._client
        while client is not None and client.want_write() and time.monotonic() < deadline:
            time.sleep(0.02)

    async def flushed(self, timeout: float = 120.0) -> bool:
        """Wait until the broker has acknowledged everything published so far."""
        last = self._last
        if last is None:
            return True
        await asyncio.to_thread(last.wait_for_publish, timeout)
        return last.is_published()

    def endpoints(self) -> list[str]:
        return [
            f"mqtt://{self.host}:{self.port} fieldlab/{self.scenario.site}/+/"
            f"{{{','.join(sorted(self.machines))}}}/#"
        ]

    async def publish(self, samples: list[Sample], sim_now: int) -> None:
        client = self._client
        if client is None:
            return
        for s in samples:
            if s.machine not in self.machines:
                continue
            payload = json.dumps({"ts": s.ts, "value": s.value}, separators=(",", ":"))
            self._last = client.publish(
                self._topics[s.machine] + s.signal, payload, qos=1, retain=s.signal in RETAINED
            )
            self.published += 1

    async def inject(self, fault: str, args: list[str]) -> None:
        client = self._client
        if client is None:
            return
        machine = sorted(self.machines)[0]
        base = self._topics[machine]
        n = int(args[0]) if args and args[0].isdigit() else 1
        if fault == "malformed":
            for i in range(n):
                client.publish(base + "state", b'{"ts": 1, "value": ' + str(i).encode(), qos=1)
        elif fault == "oversized":
            client.publish(
                base + "temperature", b'{"ts":1,"value":"' + b"x" * 2_000_000 + b'"}', qos=1
            )
        elif fault == "nan":
            client.publish(base + "power_kw", '{"ts": 1, "value": NaN}', qos=1)
        elif fault == "out_of_range":
            client.publish(base + "count_total", '{"ts": 1, "value": -5}', qos=1)
        elif fault in ("drop", "restart"):
            seconds = float(args[0]) if args else 1.0
            client.disconnect()
            await asyncio.sleep(seconds)
            client.reconnect()
        else:
            raise ValueError(f"unknown MQTT fault {fault!r}")


Face = MqttFace
