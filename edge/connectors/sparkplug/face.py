"""Sparkplug B face: an edge node per area of the scenario (group = the site), a device per
machine, on the scenario's broker (`--mqtt`). NBIRTH with bdSeq and a will NDEATH, DBIRTH with
aliases, DDATA by alias with seq 0–255, an answer to a Rebirth NCMD, and faults a gateway test
needs: `cut` (the connection dropped: the broker sends the will), `seq_gap`, `data_before_birth`.

Metric names are `Machine/<signal>` (e.g. `Machine/count_total`), datatypes by value: String
for state, reason and product, UInt64 for counters, Double for process values.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from typing import Any
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from fieldlab.connectors.sparkplug.payload import decode, encode
from fieldlab.domain.samples import COUNTER_SIGNALS, Sample, Value
from fieldlab.simulators.archetypes import resolve
from fieldlab.simulators.faces.base import FaceSettings, ReadOptions
from fieldlab.simulators.scenario import Scenario

log = logging.getLogger("fieldlab.sim.sparkplug")
NS = "spBv1.0"
TEXT = {"state", "reason", "product"}


def metric_name(signal: str) -> str:
    return f"Machine/{signal}"


def signals(scenario: Scenario, machine: str) -> list[str]:
    spec = scenario.machines[machine]
    params = resolve(spec.archetype, spec.behaviour)
    counters = ["count_total", "count_good", "count_scrap"][: 3 if params.quality_counters else 1]
    out = ["state", "reason", *counters, *params.values]
    return out + (["product"] if spec.products else [])


def datatype(signal: str) -> int:
    return 12 if signal in TEXT else 8 if signal in COUNTER_SIGNALS else 10


def gateway_source(
    scenario: Scenario, machines: list[str], settings: FaceSettings, read: ReadOptions
) -> dict[str, Any]:
    """The gateway's `type: sparkplug` source for these machines (written once, here)."""
    return {
        "type": "sparkplug",
        "name": "sim-sparkplug",
        "url": settings.mqtt_url,
        "client_id": f"fieldlab-gateway-spb-{scenario.site}",
        "groups": [scenario.site],
        "rebirth": True,
        "machines": {
            m: {
                "device": f"{scenario.site}/{scenario.machines[m].area}/{m}",
                "metrics": {s: {"metric": metric_name(s)} for s in signals(scenario, m)},
            }
            for m in machines
        },
    }


class _EdgeNode:
    def __init__(self, face: SparkplugFace, area: str, machines: list[str]):
        self.face, self.area, self.machines = face, area, machines
        self.group = face.scenario.site
        self.bd_seq = -1
        self.seq = 0
        self.client: mqtt.Client | None = None
        self.connected = threading.Event()
        self.aliases = {
            (m, s): i + 1
            for i, (m, s) in enumerate((m, s) for m in machines for s in signals(face.scenario, m))
        }

    def topic(self, kind: str, device: str = "") -> str:
        return f"{NS}/{self.group}/{kind}/{self.area}" + (f"/{device}" if device else "")

    def _next_seq(self) -> int:
        seq, self.seq = self.seq, (self.seq + 1) % 256
        return seq

    def connect(self) -> None:
        self.bd_seq = (self.bd_seq + 1) % 256
        f = self.face
        c = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"fieldlab-sim-spb-{self.group}-{self.area}"
        )
        death = encode([("bdSeq", None, 8, self.bd_seq)], timestamp=f.sim_now)
        c.will_set(self.topic("NDEATH"), death, qos=1)
        c.on_connect = lambda cl, u, fl, rc, p: self._on_connect(cl, rc)
        c.on_disconnect = lambda cl, u, fl, rc, p: self.connected.clear()
        c.on_message = lambda cl, u, msg: self._on_command(msg)
        c.connect_async(f.host, f.port, keepalive=5)
        c.loop_start()
        self.client = c

    def _on_connect(self, c: mqtt.Client, rc: Any) -> None:
        if rc.is_failure:
            log.warning("Sparkplug edge node %s refused: %s", self.area, rc)
            return
        c.subscribe(self.topic("NCMD"), qos=0)
        self.connected.set()

    def _on_command(self, msg: mqtt.MQTTMessage) -> None:
        _, _, metrics = decode(bytes(msg.payload))
        if any(m.name == "Node Control/Rebirth" and m.value for m in metrics):
            self.face.rebirths += 1
            self.births()

    def births(self) -> None:
        f, c = self.face, self.client
        if c is None:
            return
        self.seq = 0
        node = [("bdSeq", None, 8, self.bd_seq), ("Node Control/Rebirth", None, 11, False)]
        c.publish(self.topic("NBIRTH"), encode(node, timestamp=f.sim_now, seq=self._next_seq()), 1)
        for m in self.machines:
            metrics = [
                (metric_name(s), self.aliases[(m, s)], datatype(s), f.value(m, s))
                for s in signals(f.scenario, m)
            ]
            c.publish(
                self.topic("DBIRTH", m),
                encode(metrics, timestamp=f.sim_now, seq=self._next_seq()),
                qos=1,
            )

    def data(self, machine: str, samples: list[Sample]) -> None:
        c = self.client
        if c is None or not self.connected.is_set():
            return
        for s in samples:  # one DDATA per sample time: metric times are the samples' times
            metrics = [(None, self.aliases[(machine, s.signal)], datatype(s.signal), s.value)]
            payload = encode(metrics, timestamp=s.ts, seq=self._next_seq())
            c.publish(self.topic("DDATA", machine), payload, qos=1)

    def cut(self) -> None:
        """The link dropped without a DISCONNECT: the broker publishes the will (NDEATH)."""
        c = self.client
        if c is None:
            return
        sock = c.socket()
        if isinstance(sock, socket.socket):
            sock.shutdown(socket.SHUT_RDWR)
        c.loop_stop()
        self.client = None
        self.connected.clear()

    def stop(self) -> None:
        c = self.client
        if c is None:
            return
        death = encode([("bdSeq", None, 8, self.bd_seq)], timestamp=self.face.sim_now)
        c.publish(self.topic("NDEATH"), death, qos=1).wait_for_publish(5)
        c.disconnect()
        c.loop_stop()
        self.client = None


class SparkplugFace:
    name = "sparkplug"
    terminal = False

    def __init__(self, scenario: Scenario, machines: list[str], settings: FaceSettings):
        self.scenario = scenario
        url = urlparse(settings.mqtt_url)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 1883
        by_area: dict[str, list[str]] = {}
        for m in machines:
            by_area.setdefault(scenario.machines[m].area, []).append(m)
        self.nodes = {area: _EdgeNode(self, area, ms) for area, ms in by_area.items()}
        self.node_of = {m: n for n in self.nodes.values() for m in n.machines}
        self.values: dict[tuple[str, str], Value] = {}
        self.sim_now = 0
        self.rebirths = 0

    def value(self, machine: str, signal: str) -> Value | None:
        return self.values.get((machine, signal))

    async def _online(self, node: _EdgeNode) -> None:
        node.connect()
        if not await asyncio.to_thread(node.connected.wait, 10):
            raise ConnectionError(f"MQTT broker at {self.host}:{self.port} did not answer")

    async def start(self, sim_now: int = 0) -> None:
        self.sim_now = sim_now
        for node in self.nodes.values():
            await self._online(node)
            node.births()

    async def stop(self) -> None:
        for node in self.nodes.values():
            await asyncio.to_thread(node.stop)

    def endpoints(self) -> list[str]:
        nodes = ", ".join(f"{a} ({len(n.machines)} devices)" for a, n in self.nodes.items())
        return [f"mqtt://{self.host}:{self.port} {NS}/{self.scenario.site}: {nodes}"]

    async def publish(self, samples: list[Sample], sim_now: int) -> None:
        self.sim_now = sim_now
        by_machine: dict[str, list[Sample]] = {}
        for s in samples:
            if (
                s.machine in self.node_of
                and (s.machine, s.signal) in self.node_of[s.machine].aliases
            ):
                self.values[(s.machine, s.signal)] = s.value
                by_machine.setdefault(s.machine, []).append(s)
        for m, ss in by_machine.items():
            self.node_of[m].data(m, ss)

    async def inject(self, fault: str, args: list[str]) -> None:
        """Every edge node at once (a switch or an uplink that fails takes them all)."""
        seconds = float(args[0]) if args else 3.0
        nodes = list(self.nodes.values())
        if fault == "seq_gap":
            for node in nodes:
                node._next_seq()
            return
        if fault not in ("cut", "data_before_birth"):
            raise ValueError(f"unknown Sparkplug fault {fault!r}")
        for node in nodes:
            node.cut()
        await asyncio.sleep(seconds)
        for node in nodes:
            await self._online(node)
            if fault == "data_before_birth":
                machine = node.machines[0]
                node.data(machine, [Sample(self.sim_now, machine, "state", "running")])
                await asyncio.sleep(0.2)  # the host sees the data first, asks for a rebirth
            node.births()


Face = SparkplugFace
