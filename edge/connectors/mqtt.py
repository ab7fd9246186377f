"""MQTT connector (paho-mqtt): topics and payloads into samples, acknowledged after commit.

```yaml
sources:
  - type: mqtt
    name: broker
    url: mqtt://127.0.0.1:1883          # mqtts:// for TLS
    client_id: fieldlab-gateway         # fixed, so the broker keeps our session across restarts
    username_env: MQTT_USER             # secrets from the environment
    password_env: MQTT_PASSWORD
    topics:
      - template: "fieldlab/{site}/{area}/{machine}/{signal}"   # {machine} and {signal}: one
        payload: json                   # segment each; json or plain
        value: value                    # JSON path of the value (a.b.c); payload may be a list
        ts: ts                          # JSON path of the time (epoch ms or RFC 3339)
    signals:                            # optional maps for every machine
      state: {preset: packml}
    machines:                           # optional maps per machine
      press-1: {power: {scale: 0.001}}
```

QoS 1 with a persistent session; every (re)connect subscribes again and checks
`session_present`. Messages are acknowledged (`manual_ack`) only after their samples are
committed, so a crash loses nothing: the broker sends them again. A payload that cannot be
parsed or mapped goes to the rejected table with topic, payload and reason, and is counted.
"""

from __future__ import annotations

import asyncio
import json
import re
import ssl
import time
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from pydantic import BaseModel, ConfigDict, Field, field_validator

from edge.config.site import SiteConfig
from edge.connectors.base import Batch, ConnectorContext
from edge.domain.samples import SampleError, parse_ts
from edge.mapping import Mapper, SignalMap
from edge.store.base import Rejected

TYPE = "mqtt"


class TopicConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    template: str = "fieldlab/{site}/{area}/{machine}/{signal}"
    payload: Literal["json", "plain"] = "json"
    value: str = "value"
    ts: str | None = "ts"
    machine: str | None = Field(None, description="fixed machine when the topic names none")
    signal: str | None = Field(None, description="fixed signal when the topic names none")

    @field_validator("template")
    @classmethod
    def _one_segment_each(cls, v: str) -> str:
        for seg in v.split("/"):
            if "{" in seg and not re.fullmatch(r"\{[a-z_]+\}", seg):
                raise ValueError(f'"{seg}": a placeholder must be a whole topic level')
        return v

    def filter(self) -> str:
        return "/".join("+" if seg.startswith("{") else seg for seg in self.template.split("/"))

    def pattern(self) -> re.Pattern[str]:
        parts = []
        for seg in self.template.split("/"):
            if seg.startswith("{"):
                parts.append(f"(?P<{seg[1:-1]}>[^/]+)")
            elif seg == "+":
                parts.append("[^/]+")
            elif seg == "#":
                parts.append(".*")
            else:
                parts.append(re.escape(seg))
        return re.compile("/".join(parts) + "$")


class TlsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    insecure: bool = Field(False, description="skip the host name check (test CAs only)")


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["mqtt"]
    name: str = "mqtt"
    url: str = "mqtt://127.0.0.1:1883"
    client_id: str = "fieldlab-gateway"
    username_env: str | None = None
    password_env: str | None = None
    tls: TlsConfig | None = None
    protocol: Literal["auto", "3.1.1", "5"] = "auto"
    receive_maximum: int = Field(1000, ge=1, le=65535, description="MQTT 5 in-flight window")
    session_expiry_s: int = Field(7 * 86400, ge=0)
    topics: list[TopicConfig] = Field(default_factory=lambda: [TopicConfig()], min_length=1)
    signals: dict[str, SignalMap] = Field(default_factory=dict)
    machines: dict[str, dict[str, SignalMap]] = Field(default_factory=dict)
    flush_ms: int = Field(20, ge=1, description="how long messages gather into one batch")


def create(cfg: Config, site: SiteConfig, data_dir: Path) -> MqttConnector:
    return MqttConnector(cfg)


def _path(obj: Any, path: str) -> Any:
    for key in path.removeprefix("$.").split("."):
        if not key:
            continue
        if isinstance(obj, dict) and key in obj:
            obj = obj[key]
        elif isinstance(obj, list) and key.isdigit() and int(key) < len(obj):
            obj = obj[int(key)]
        else:
            raise KeyError(path)
    return obj


class MqttConnector:
    def __init__(self, cfg: Config):
        import os

        self.cfg = cfg
        self.name = cfg.name
        self.machines: list[str] = list(cfg.machines)
        self._patterns = [(t, t.pattern()) for t in cfg.topics]
        self._mapper = Mapper()
        url = urlparse(cfg.url)
        self.tls = url.scheme in ("mqtts", "ssl") or cfg.tls is not None
        self.host = url.hostname or "127.0.0.1"
        self.port = url.port or (8883 if self.tls else 1883)
        self.username = os.environ.get(cfg.username_env) if cfg.username_env else url.username
        self.password = os.environ.get(cfg.password_env) if cfg.password_env else None
        self.session_present: bool | None = None
        self.v5 = cfg.protocol in ("auto", "5")

    # -- parsing (pure, tested on its own) -------------------------------------------------------

    def parse(self, topic: str, payload: bytes, received_ms: int) -> tuple[list, list[Rejected]]:
        """Samples and rejections of one message."""
        for tcfg, pattern in self._patterns:
            m = pattern.match(topic)
            if m is None:
                continue
            groups = m.groupdict()
            machine = groups.get("machine") or tcfg.machine
            signal = groups.get("signal") or tcfg.signal
            try:
                return self._parse_payload(tcfg, machine, signal, payload, received_ms), []
            except (SampleError, ValueError, KeyError, TypeError) as exc:
                return [], [self._reject(topic, payload, _reason(exc))]
        return [], [self._reject(topic, payload, "topic matches no configured template")]

    def _parse_payload(
        self,
        tcfg: TopicConfig,
        machine: str | None,
        signal: str | None,
        payload: bytes,
        received_ms: int,
    ) -> list:
        text = payload.decode("utf-8")
        if tcfg.payload == "plain":
            items: list[Any] = [{"value": _plain(text)}]
            value_path, ts_path = "value", None
        else:
            doc = json.loads(text, parse_constant=_no_constant)
            items = doc if isinstance(doc, list) else [doc]
            value_path, ts_path = tcfg.value, tcfg.ts
        out = []
        for item in items:
            m = item.get("machine", machine) if isinstance(item, dict) else machine
            sig = item.get("signal", signal) if isinstance(item, dict) else signal
            if not m or not sig:
                raise ValueError("the topic names no machine or signal, and the payload neither")
            raw = _path(item, value_path) if isinstance(item, dict) else item
            ts = received_ms
            if ts_path and isinstance(item, dict):
                try:
                    ts = parse_ts(_path(item, ts_path))
                except KeyError:
                    ts = received_ms
            spec = self.cfg.machines.get(m, {}).get(sig) or self.cfg.signals.get(sig)
            out += self._mapper.apply(m, sig, raw, ts, spec)
        return out

    def _reject(self, topic: str, payload: bytes, reason: str) -> Rejected:
        return Rejected(f"mqtt:{self.name}:{topic}", payload.decode("utf-8", "replace"), reason)

    # -- running ---------------------------------------------------------------------------------

    def _client(self, loop: asyncio.AbstractEventLoop, inbox: asyncio.Queue) -> mqtt.Client:
        protocol = MQTTProtocolVersion.MQTTv5 if self.v5 else MQTTProtocolVersion.MQTTv311
        kwargs: dict[str, Any] = {"protocol": protocol, "manual_ack": True}
        if not self.v5:
            kwargs["clean_session"] = False
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.cfg.client_id, **kwargs)
        if self.username:
            client.username_pw_set(self.username, self.password)
        if self.tls:
            t = self.cfg.tls or TlsConfig()
            client.tls_set(
                ca_certs=t.ca_file,
                certfile=t.cert_file,
                keyfile=t.key_file,
                cert_reqs=ssl.CERT_REQUIRED,
            )
            client.tls_insecure_set(t.insecure)

        def on_connect(c: mqtt.Client, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
            if rc.is_failure:
                loop.call_soon_threadsafe(inbox.put_nowait, ("refused", str(rc)))
                return
            self.session_present = bool(flags.session_present)
            for tcfg in self.cfg.topics:
                c.subscribe(tcfg.filter(), qos=1)
            loop.call_soon_threadsafe(inbox.put_nowait, ("connected", flags.session_present))

        def on_disconnect(c: mqtt.Client, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
            loop.call_soon_threadsafe(inbox.put_nowait, ("disconnected", str(rc)))

        def on_message(c: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
            loop.call_soon_threadsafe(inbox.put_nowait, ("msg", msg))

        client.on_connect = on_connect
        client.on_disconnect = on_disconnect
        client.on_message = on_message
        return client

    async def run(self, ctx: ConnectorContext) -> None:
        loop = asyncio.get_running_loop()
        inbox: asyncio.Queue = asyncio.Queue()
        client = self._client(loop, inbox)
        props = None
        if self.v5:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = self.cfg.session_expiry_s
            props.ReceiveMaximum = self.cfg.receive_maximum
        client.reconnect_delay_set(0.25, 2)
        connect_kwargs: dict[str, Any] = {"keepalive": 15}
        if self.v5:
            connect_kwargs.update(clean_start=False, properties=props)
        client.connect_async(self.host, self.port, **connect_kwargs)
        client.loop_start()
        pending: list[mqtt.MQTTMessage] = []
        connected = False
        try:
            while True:
                timeout = self.cfg.flush_ms / 1000 if pending else None
                try:
                    kind, item = await asyncio.wait_for(inbox.get(), timeout)
                except TimeoutError:
                    kind, item = "flush", None
                if kind == "msg":
                    pending.append(item)
                    if len(pending) < 5000:
                        continue
                elif kind == "connected":
                    connected = True
                    if not item and ctx.health.samples:
                        ctx.log.warning(
                            "%s: the broker kept no session: messages sent while "
                            "the gateway was away are missing",
                            self.name,
                        )
                    ctx.back(self.machines)
                    continue
                elif kind in ("disconnected", "refused"):
                    if pending:
                        await self._flush(ctx, client, pending)
                        pending = []
                    if connected or kind == "refused":
                        ctx.health.reconnects += connected
                        ctx.health.last_error = str(item)
                        await ctx.lost(self.machines, f"broker: {item}")
                    connected = False
                    continue
                if pending:
                    await self._flush(ctx, client, pending)
                    pending = []
        finally:
            client.disconnect()
            client.loop_stop()

    async def _flush(
        self, ctx: ConnectorContext, client: mqtt.Client, messages: list[mqtt.MQTTMessage]
    ) -> None:
        now_ms = int(time.time() * 1000)
        samples: list = []
        rejected: list[Rejected] = []
        for msg in messages:
            s, r = self.parse(msg.topic, msg.payload, now_ms)
            samples += s
            rejected += r
        seen = {s.machine for s in samples}
        new = seen.difference(self.machines)
        if new:
            self.machines += sorted(new)
        for s in samples:
            ctx.clock.observe(s.ts)
        ctx.health.samples += len(samples)
        ctx.health.rejected += len(rejected)
        if samples:
            ctx.health.last_sample_wall = time.time()
        mids = [(m.mid, m.qos) for m in messages]

        def ack() -> None:
            for mid, qos in mids:
                client.ack(mid, qos)

        await ctx.emit(Batch(samples, rejected, source=self.name, on_commit=ack))


def _plain(text: str) -> object:
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a value (JSON has no NaN or Infinity)")


def _reason(exc: Exception) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "payload is not UTF-8 text"
    if isinstance(exc, json.JSONDecodeError):
        return f"not valid JSON ({exc.msg} at column {exc.colno})"
    if isinstance(exc, KeyError):
        return f"no {exc.args[0]!r} in the payload"
    return str(exc)
