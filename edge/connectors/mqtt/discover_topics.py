"""Listen on a broker for a while: which topics arrive, how often, and in what payload shape."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion


@dataclass
class TopicStats:
    count: int = 0
    shape: str = ""
    last: str = ""
    keys: set[str] = field(default_factory=set)


def shape_of(payload: bytes) -> tuple[str, set[str]]:
    try:
        doc = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        text = payload.decode("utf-8", "replace").strip()
        try:
            float(text)
            return "plain number", set()
        except ValueError:
            return "plain text", set()
    if isinstance(doc, dict):
        return "JSON object", set(doc)
    if isinstance(doc, list):
        return f"JSON list ({len(doc)})", set()
    return f"JSON {type(doc).__name__}", set()


def listen(
    url: str, topic: str, seconds: float, username: str | None = None, password: str | None = None
) -> dict[str, TopicStats]:
    parsed = urlparse(url)
    stats: dict[str, TopicStats] = {}
    lock = threading.Lock()
    connected = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"fieldlab-discover-{time.time()}")
    if username:
        client.username_pw_set(username, password)
    if parsed.scheme in ("mqtts", "ssl"):
        client.tls_set()

    def on_connect(c, u, f, rc, p):
        c.subscribe(topic, qos=0)
        connected.set()

    def on_message(c, u, msg):
        shape, keys = shape_of(msg.payload)
        with lock:
            st = stats.setdefault(msg.topic, TopicStats())
            st.count += 1
            st.shape = shape
            st.keys |= keys
            st.last = msg.payload[:80].decode("utf-8", "replace")

    client.on_connect = on_connect
    client.on_message = on_message
    client.connect(
        parsed.hostname or "127.0.0.1", parsed.port or (8883 if parsed.scheme == "mqtts" else 1883)
    )
    client.loop_start()
    try:
        if not connected.wait(10):
            raise ConnectionError(f"MQTT broker at {url} did not answer")
        time.sleep(seconds)
    finally:
        client.loop_stop()
        client.disconnect()
    return stats


def suggest_template(topics: list[str]) -> str | None:
    """A topic template guess: the level that varies most among few is {machine}, the last
    level {signal}."""
    if not topics:
        return None
    levels = [t.split("/") for t in topics]
    depth = max(len(x) for x in levels)
    same = [x for x in levels if len(x) == depth]
    parts = []
    for i in range(depth):
        values = {x[i] for x in same}
        if i == depth - 1:
            parts.append("{signal}")
        elif len(values) == 1:
            parts.append(next(iter(values)))
        elif "{machine}" not in parts and i == depth - 2:
            parts.append("{machine}")
        else:
            parts.append("+")
    return "/".join(parts)
