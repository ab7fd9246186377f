"""The Unified Namespace out (`type: mqtt` sink): every sample the gateway stores is published
under an ISA-95 topic tree, `<enterprise>/<site>/<area>/<line>/<machine>/<signal>`, as JSON with
its time and unit, QoS 1, through a durable queue so a broker that is away loses nothing. The
latest state and the current shift's OEE of each machine are retained, so a Node-RED flow or a
Grafana panel that subscribes later sees them at once.

Area and line come from the site file's machines (`area:`, `line:`), else `area` and `line`.
A message is removed from the queue only after the broker acknowledged it (QoS 1 PUBACK); after
a crash a batch is published again, which subscribers see as the same value at the same time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field

from fieldlab.config.addresses import MqttUrl
from fieldlab.config.redact import redact_url
from fieldlab.config.site import SiteConfig
from fieldlab.config.tls import client_context
from fieldlab.domain.rejected import Rejected
from fieldlab.domain.samples import Sample, from_ms
from fieldlab.sinks.base import ShiftFigures, SinkEnv
from fieldlab.sinks.forward import Forwarder, QueuedSink, Retry
from fieldlab.sinks.queue import DurableQueue, Overflow

TYPE = "mqtt"
log = logging.getLogger("fieldlab.sink.uns")

#: Units by signal-name suffix (the kit's naming: power_kw, barrel_temp_c, spindle_load_pct…).
UNITS = {
    "_kw": "kW", "_kwh": "kWh", "_c": "°C", "_bar": "bar", "_pct": "%", "_t": "t",
    "_spm": "1/min", "_bpm": "1/min", "_rpm": "1/min", "_s": "s", "_mm": "mm", "_a": "A",
    "_v": "V", "_hz": "Hz",
}  # fmt: skip
RETAINED = {"state", "product"}


class UnsQueueConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = "uns-queue.db"
    max_mb: float = Field(256, gt=0)
    overflow: Overflow = "drop_oldest"


class UnsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["mqtt"] = "mqtt"
    name: str = "uns"
    url: MqttUrl = Field(description="mqtt://host:port (mqtts:// for TLS)")
    client_id: str = "fieldlab-uns"
    username_env: str | None = None
    password_env: str | None = None
    enterprise: str = Field(description="the top of the ISA-95 tree: your company's name")
    qos: Literal[0, 1, 2] = 1
    oee_every_s: float = Field(10.0, gt=0, description="how often the shift's OEE is published")
    queue: UnsQueueConfig = Field(default_factory=UnsQueueConfig)


def unit_of(signal: str) -> str | None:
    if signal.startswith("count_"):
        return "units"
    return next((u for suffix, u in UNITS.items() if signal.endswith(suffix)), None)


def _iso(ms: int) -> str:
    return from_ms(ms).isoformat(timespec="milliseconds")


Config = UnsConfig


def create(cfg: UnsConfig, env: SinkEnv) -> UnsSink:
    return UnsSink(cfg, env.site, env.data_dir, env.shift_figures)


class UnsSink(QueuedSink):
    keeps = False
    store = None  # publishes; keeps nothing the gateway or the dashboard reads

    def __init__(
        self,
        cfg: UnsConfig,
        site: SiteConfig,
        base_dir: Path | None = None,
        shift_figures: ShiftFigures | None = None,
    ):
        self.cfg, self.site = cfg, site
        self.shift_figures = shift_figures
        self.name = cfg.name
        qpath = Path(cfg.queue.path)
        if not qpath.is_absolute() and base_dir is not None:
            qpath = base_dir / qpath
        self.queue = DurableQueue(
            qpath, max_bytes=int(cfg.queue.max_mb * 2**20), overflow=cfg.queue.overflow
        )
        self.published = 0
        self._client: Any = None
        where = redact_url(cfg.url)
        self._forward = Forwarder(self.name, self.queue, self._publish, where, log)

    def topic(self, machine: str, leaf: str) -> str:
        m = self.site.machine(machine)
        parts = (self.cfg.enterprise, self.site.site, m.area or "area", m.line or "line", machine)
        return "/".join(p.replace("/", "_").replace("+", "_").replace("#", "_") for p in parts) + (
            f"/{leaf}"
        )

    def _message(self, s: Sample) -> list[Any]:
        body: dict[str, Any] = {"ts": s.ts, "time": _iso(s.ts), "value": s.value}
        unit = unit_of(s.signal)
        if unit:
            body["unit"] = unit
        return [self.topic(s.machine, s.signal), json.dumps(body), s.signal in RETAINED]

    def accept(self, samples: list[Sample], rejected: list[Rejected]) -> None:
        """Queued durably before the source is acknowledged; rejected input stays local."""
        for i in range(0, len(samples), 2000):
            part = samples[i : i + 2000]
            payload = "\n".join(json.dumps(self._message(s)) for s in part).encode()
            self.queue.append(payload, len(part))
        self._poke()

    async def run(self) -> None:
        """Forward the queue and, beside it, publish each machine's shift OEE."""
        if self.shift_figures is None:
            await super().run()
            return
        oee = asyncio.create_task(self._shift_oee(self.shift_figures), name=f"{self.name} oee")
        try:
            await super().run()
        finally:
            oee.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await oee

    async def _shift_oee(self, shift_figures: ShiftFigures) -> None:
        """The current shift's live OEE per machine, retained, every `oee_every_s` (from the
        store, as the dashboard reads it)."""
        while True:
            await asyncio.sleep(self.cfg.oee_every_s)
            for machine, figures in await asyncio.to_thread(shift_figures):
                self.publish_oee(machine, figures)

    def publish_oee(self, machine: str, figures: dict[str, Any]) -> None:
        """The current shift's live OEE, retained."""
        msg = [self.topic(machine, "oee"), json.dumps(figures), True]
        self.queue.append(json.dumps(msg).encode(), 1)
        self._poke()

    def newest(self) -> dict[str, tuple[int, int | None, str | None]]:
        return {}  # the UNS is not the store the gateway closes gaps from

    def _connect(self) -> Any:
        import os

        import paho.mqtt.client as mqtt

        u = urlsplit(self.cfg.url)
        c = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=self.cfg.client_id, protocol=mqtt.MQTTv311
        )
        user = os.environ.get(self.cfg.username_env or "") or unquote(u.username or "") or None
        password = os.environ.get(self.cfg.password_env or "") or unquote(u.password or "") or None
        if user:
            c.username_pw_set(user, password)
        if u.scheme == "mqtts":
            c.tls_set_context(client_context())
        c.max_inflight_messages_set(1000)
        c.connect(u.hostname or "127.0.0.1", u.port or (8883 if u.scheme == "mqtts" else 1883), 30)
        c.loop_start()
        return c

    def _send(self, payload: bytes) -> None:
        """Publish one batch and wait for every acknowledgement; raises when the broker is away."""
        if self._client is None or not self._client.is_connected():
            if self._client is not None:
                with contextlib.suppress(Exception):
                    self._client.loop_stop()
            self._client = None
            client = self._connect()
            deadline = time.monotonic() + 5
            while not client.is_connected() and time.monotonic() < deadline:
                time.sleep(0.01)
            if not client.is_connected():
                client.loop_stop()
                raise OSError(f"no MQTT broker answers at {redact_url(self.cfg.url)}")
            self._client = client
        infos = []
        for line in payload.split(b"\n"):
            topic, body, retain = json.loads(line)
            infos.append(self._client.publish(topic, body, qos=self.cfg.qos, retain=retain))
        deadline = time.monotonic() + 30
        for info in infos:
            info.wait_for_publish(max(0.1, deadline - time.monotonic()))
            if not info.is_published():
                raise OSError("the broker did not acknowledge every message")

    async def _publish(self, batch_id: int | None, payload: bytes, points: int) -> int:
        try:
            await asyncio.to_thread(self._send, payload)
        except (OSError, ValueError) as exc:
            raise Retry(str(exc)) from None
        self.published += points
        return points

    def stats(self) -> dict[str, float]:
        return self.queue.stats() | {
            "published": float(self.published),
            "errors": float(self.errors),
            "up": float(self.up),
        }

    def close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.disconnect()
                self._client.loop_stop()
        self.queue.close()
