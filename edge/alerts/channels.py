"""Sending alert messages: one worker per channel, so a channel that hangs or fails delays only
itself, never ingest and never another channel.

Apprise does the sending for URL channels (e-mail, Teams, Slack, ntfy, webhooks and ~100 more:
one kept library instead of a client per service); an MQTT channel publishes the event as JSON
for machines (Node-RED, an MES). A failed send is retried with backoff (1 s doubling to 60 s) up
to `ATTEMPTS` times, and counted; a full queue drops its oldest message, counted too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from fieldlab.alerts.text import message
from fieldlab.config.alerts import AlertChannel
from fieldlab.config.redact import redact_url
from fieldlab.config.site import SiteConfig
from fieldlab.config.tls import client_context
from fieldlab.domain.alerts import AlertEvent

log = logging.getLogger("fieldlab.alerts")
ATTEMPTS = 8
QUEUE = 1000


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    payload: dict[str, Any] = field(default_factory=dict)  # for machine channels (MQTT)
    attach: Path | None = None


@dataclass
class ChannelStats:
    sent: int = 0
    failed: int = 0  # attempts that failed
    given_up: int = 0
    dropped: int = 0
    last_error: str = ""


class _Mqtt:
    """A lazily connected paho client for one broker."""

    def __init__(self, url: str):
        import paho.mqtt.client as mqtt

        u = urlsplit(url)
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        if u.username:
            self._client.username_pw_set(unquote(u.username), unquote(u.password or ""))
        if u.scheme == "mqtts":
            self._client.tls_set_context(client_context())
        self._host, self._port = u.hostname or "127.0.0.1", u.port or 1883
        self._connected = False

    def publish(self, topic: str, payload: str, qos: int) -> None:
        if not self._connected:
            self._client.connect(self._host, self._port, keepalive=30)
            self._client.loop_start()
            self._connected = True
        info = self._client.publish(topic, payload, qos=qos)
        info.wait_for_publish(timeout=10)
        if not info.is_published():
            raise OSError(f"not acknowledged by {self._host}:{self._port}")

    def close(self) -> None:
        if self._connected:
            with contextlib.suppress(Exception):
                self._client.disconnect()
                self._client.loop_stop()


class ChannelWorker:
    def __init__(self, name: str, channel: AlertChannel, first_retry_s: float = 1.0):
        self.name, self.channel = name, channel
        self.stats = ChannelStats()
        self._queue: deque[Message] = deque()
        self._ready = asyncio.Event()
        self._first = first_retry_s
        self._mqtt: _Mqtt | None = None
        self._sender: Any = None
        self.busy = False

    def prepare(self) -> None:
        """Load Apprise and check the URL now (a worker thread at gateway start): loading its
        ~100 service plugins takes a third of a second of the interpreter, which must not fall
        on ingest when the first alert fires; a URL Apprise does not know is said at start."""
        if self.channel.url is None:
            return
        import apprise

        sender = apprise.Apprise()
        try:
            url = self.channel.resolved_url()
        except KeyError as exc:
            self.stats.last_error = str(exc)
            log.error("alert channel %s: %s", self.name, exc)
            return
        if not sender.add(url):
            self.stats.last_error = f"not an Apprise URL: {redact_url(self.channel.url)}"
            log.error("alert channel %s: %s", self.name, self.stats.last_error)
            return
        self._sender = sender

    def put(self, msg: Message) -> None:
        if len(self._queue) >= QUEUE:
            self._queue.popleft()
            self.stats.dropped += 1
        self._queue.append(msg)
        self._ready.set()

    @property
    def pending(self) -> int:
        return len(self._queue) + self.busy

    def _send(self, msg: Message) -> None:
        """One attempt, in a worker thread; raises on failure."""
        if self.channel.mqtt is not None:
            m = self.channel.mqtt
            self._mqtt = self._mqtt or _Mqtt(m.url)
            self._mqtt.publish(m.topic, json.dumps(msg.payload | {"title": msg.title}), m.qos)
            return
        if self._sender is None:
            self.prepare()
        if self._sender is None:
            raise ValueError(self.stats.last_error or "the channel's URL cannot be used")
        attach = str(msg.attach) if msg.attach else None
        if not self._sender.notify(title=msg.title, body=msg.body, attach=attach):
            raise OSError("the service did not accept the message (see the apprise log)")

    async def run(self) -> None:
        while True:
            await self._ready.wait()
            while self._queue:
                msg = self._queue.popleft()
                self.busy = True
                try:
                    await self._deliver(msg)
                finally:
                    self.busy = False
            self._ready.clear()

    async def _deliver(self, msg: Message) -> None:
        wait = self._first
        for attempt in range(1, ATTEMPTS + 1):
            try:
                await asyncio.to_thread(self._send, msg)
                self.stats.sent += 1
                return
            except Exception as exc:  # noqa: BLE001 - any failure of a channel is retried
                self.stats.failed += 1
                self.stats.last_error = str(exc) or type(exc).__name__
                log.warning(
                    "alert channel %s: attempt %d of %d failed: %s",
                    self.name,
                    attempt,
                    ATTEMPTS,
                    self.stats.last_error,
                )
            if attempt < ATTEMPTS:
                await asyncio.sleep(wait)
                wait = min(wait * 2, 60.0)
        self.stats.given_up += 1

    def close(self) -> None:
        if self._mqtt is not None:
            self._mqtt.close()


class Notifier:
    """Events and reports to the channels their rule names (all channels when it names none)."""

    def __init__(self, site: SiteConfig, first_retry_s: float = 1.0):
        self.site = site
        self.workers = {
            name: ChannelWorker(name, ch, first_retry_s)
            for name, ch in site.alerts.channels.items()
        }
        self._tasks: list[asyncio.Task[None]] = []

    def prepare(self) -> None:
        """Every channel's library loaded and URL checked (blocking: call it in a thread)."""
        for w in self.workers.values():
            w.prepare()

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(w.run(), name=f"alert channel {w.name}")
            for w in self.workers.values()
        ]

    def send(self, event: AlertEvent) -> None:
        rule = next((r for r in self.site.alerts.rules if r.name == event.rule), None)
        for name in rule.to if rule and rule.to else list(self.workers):
            worker = self.workers[name]
            title, body = message(event, self.site, worker.channel.lang)
            worker.put(Message(title, body, asdict(event)))

    def send_file(self, to: list[str], title: str, body: str, attach: Path) -> None:
        for name in to:
            self.workers[name].put(Message(title, body, {"report": attach.name}, attach))

    @property
    def pending(self) -> int:
        return sum(w.pending for w in self.workers.values())

    async def stop(self, timeout: float = 5.0) -> None:
        """Give queued messages `timeout` seconds, then stop."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.pending and loop.time() < deadline:
            await asyncio.sleep(0.05)
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for w in self.workers.values():
            await asyncio.to_thread(w.close)

    def stats(self) -> dict[str, dict[str, Any]]:
        return {name: asdict(w.stats) | {"pending": w.pending} for name, w in self.workers.items()}
