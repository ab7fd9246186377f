"""MQTT connector (paho-mqtt): the transport. The session, subscriptions, acknowledgements after
commit, reconnects and the clean stop are here; topics and payloads become samples in a decoder
(`decoders.py`), the config model is `config.py`.

The sample config is `sample.yaml` beside this file; README.md says what the connector does.

QoS 1 with a persistent session; every (re)connect subscribes again and checks
`session_present`. Messages are acknowledged (`manual_ack`) only after their samples are
committed, so a crash loses nothing: the broker sends them again. A payload that cannot be
parsed or mapped goes to the rejected table with topic, payload and reason, and is counted.
"""

from __future__ import annotations

import asyncio
import collections
import math
import ssl
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from fieldlab.config.site import SiteConfig
from fieldlab.connectors.base import Backoff, Batch, ConnectorContext
from fieldlab.connectors.mqtt.config import Config, TlsConfig, TopicConfig
from fieldlab.connectors.mqtt.decoders import Decoder, TopicDecoder
from fieldlab.domain.rejected import Rejected
from fieldlab.domain.samples import Sample

__all__ = ["TYPE", "Config", "MqttConnector", "create"]

TYPE = "mqtt"


def create(cfg: Config, site: SiteConfig, data_dir: Path) -> MqttConnector:
    return MqttConnector(cfg)


class MqttConnector:
    def __init__(self, cfg: Config):
        import os

        self.cfg = cfg
        self.name = cfg.name
        self.url = cfg.url
        # Machines this gateway answers for (offline on loss and at stop). In a shared group
        # no gateway sees all of a machine's messages, so none may declare it offline.
        self.machines: list[str] = [] if cfg.share_group else list(cfg.machines)
        self.decoder: Decoder = TopicDecoder(cfg, cfg.name)
        url = urlparse(cfg.url)
        self.tls = url.scheme in ("mqtts", "ssl") or cfg.tls is not None
        self.host = url.hostname or "127.0.0.1"
        self.port = url.port or (8883 if self.tls else 1883)
        self.username = os.environ.get(cfg.username_env) if cfg.username_env else url.username
        self.password = os.environ.get(cfg.password_env) if cfg.password_env else url.password
        self.session_present: bool | None = None
        self._closing: mqtt.Client | None = None
        self.v5 = cfg.protocol in ("auto", "5")
        self._inbox: collections.deque[mqtt.MQTTMessage] = collections.deque()
        self._wake_pending = False

    # -- parsing (pure, tested on its own) -------------------------------------------------------

    def parse(
        self, topic: str, payload: bytes, received_ms: int
    ) -> tuple[list[Sample], list[Rejected]]:
        """Samples and rejections of one message (the decoder's)."""
        return self.decoder.parse(topic, payload, received_ms)

    # -- running ---------------------------------------------------------------------------------

    def _filter(self, tcfg: TopicConfig) -> str:
        group = self.cfg.share_group
        return f"$share/{group}/{tcfg.filter()}" if group else tcfg.filter()

    def _client(
        self, loop: asyncio.AbstractEventLoop, control: asyncio.Queue, wake: asyncio.Event
    ) -> mqtt.Client:
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
                loop.call_soon_threadsafe(control.put_nowait, ("refused", str(rc)))
                return
            self.session_present = bool(flags.session_present)
            for tcfg in self.cfg.topics:
                c.subscribe(self._filter(tcfg), qos=1)
            loop.call_soon_threadsafe(control.put_nowait, ("connected", flags.session_present))

        def on_disconnect(c: mqtt.Client, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
            loop.call_soon_threadsafe(control.put_nowait, ("disconnected", str(rc)))

        inbox = self._inbox

        def on_message(c: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
            # The hot path: a deque append, and a wake-up only when the loop is not already
            # due to look (one self-pipe write per burst, not per message).
            inbox.append(msg)
            if not self._wake_pending:
                self._wake_pending = True
                loop.call_soon_threadsafe(wake.set)

        def on_connect_fail(c: mqtt.Client, userdata: Any) -> None:
            loop.call_soon_threadsafe(control.put_nowait, ("unreachable", None))

        client.on_connect = on_connect
        client.on_connect_fail = on_connect_fail
        client.on_disconnect = on_disconnect
        client.on_message = on_message
        return client

    def _connect(
        self,
        loop: asyncio.AbstractEventLoop,
        control: asyncio.Queue,
        wake: asyncio.Event,
        backoff: Backoff,
    ) -> mqtt.Client:
        client = self._client(loop, control, wake)
        connect_kwargs: dict[str, Any] = {"keepalive": 15}
        if self.v5:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = self.cfg.session_expiry_s
            props.ReceiveMaximum = self.cfg.receive_maximum
            connect_kwargs.update(clean_start=False, properties=props)
        # paho reconnects in its own thread, with the gateway's backoff (first 0.25 s, cap 2 s);
        # it annotates int but takes a float: the first retry after 0.25 s, not 1 s
        client.reconnect_delay_set(backoff.first, backoff.cap)  # type: ignore[arg-type]
        client.connect_async(self.host, self.port, **connect_kwargs)
        client.loop_start()
        return client

    async def run(self, ctx: ConnectorContext) -> None:
        loop = asyncio.get_running_loop()
        control: asyncio.Queue = asyncio.Queue()
        wake = asyncio.Event()
        self._inbox = collections.deque()
        self._wake_pending = False
        client = self._connect(loop, control, wake, ctx.backoff)
        waker = asyncio.ensure_future(wake.wait())
        controller = asyncio.ensure_future(control.get())
        connected = ever = False
        diagnosed = -math.inf
        try:
            while True:
                done, _ = await asyncio.wait(
                    {waker, controller}, return_when=asyncio.FIRST_COMPLETED
                )
                if waker in done:
                    await asyncio.sleep(self.cfg.flush_ms / 1000)  # let a burst gather
                    wake.clear()
                    self._wake_pending = False
                    await self._drain(ctx, client)
                    waker = asyncio.ensure_future(wake.wait())
                if controller in done:
                    kind, item = controller.result()
                    controller = asyncio.ensure_future(control.get())
                    if kind == "connected":
                        connected = ever = True
                        if not item and ctx.health.samples:
                            ctx.log.warning(
                                "%s: the broker kept no session: messages sent "
                                "while the gateway was away are missing",
                                self.name,
                            )
                        ctx.back(self.machines)
                    elif kind == "unreachable":
                        # paho retries on its own but keeps no reason: find one (a closed
                        # port, an untrusted certificate), at most every 10 s.
                        if time.monotonic() - diagnosed > 10:
                            diagnosed = time.monotonic()
                            why = await self._diagnose()
                            ctx.error(why)
                            await ctx.lost(self.machines, why)
                        else:
                            ctx.error(ctx.health.last_error)  # the reason found last time
                    elif kind == "refused":
                        # The broker answered and said no: say why, once, and what to fix.
                        message = self._refusal(str(item))
                        ever = True  # it answered, so it speaks this protocol: no fallback
                        ctx.error(message)
                        await self._drain(ctx, client)
                        await ctx.lost(self.machines, message)
                        connected = False
                    elif not ever and self.v5 and self.cfg.protocol == "auto":
                        # A broker that does not speak MQTT 5 (amqtt, older ones) drops the
                        # CONNECT: fall back to 3.1.1 once.
                        ctx.log.warning(
                            "%s: the broker does not take MQTT 5; using 3.1.1", self.name
                        )
                        self.v5 = False
                        client.loop_stop()
                        client = self._connect(loop, control, wake, ctx.backoff)
                    else:  # disconnected
                        await self._drain(ctx, client)
                        if connected:
                            await ctx.failed(self.machines, f"broker: {item}")
                        connected = False
        except asyncio.CancelledError:
            # The gateway is stopping: stay connected until close(), so the acks of batches
            # still being committed reach the broker (or it sends them again next time).
            self._closing = client
            raise
        finally:
            waker.cancel()
            controller.cancel()
            if self._closing is not client:
                client.disconnect()
                client.loop_stop()

    async def close(self) -> None:
        """After the gateway committed everything: send the last acks, then disconnect.

        Before disconnecting, wait until the broker stops sending (it does once its in-flight
        window is full, as nothing new is acknowledged): closing a socket with unread data in
        it sends a reset, and a reset makes the broker drop the acks and the DISCONNECT it has
        received but not yet read (seen as 'Broken pipe' and duplicates after a clean stop).
        The messages that arrive meanwhile are not acknowledged, so the broker keeps them."""
        client, self._closing = self._closing, None
        if client is None:
            return
        seen, quiet_since = len(self._inbox), time.monotonic()
        deadline = quiet_since + 2.0
        while time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            if len(self._inbox) != seen:
                seen, quiet_since = len(self._inbox), time.monotonic()
            elif time.monotonic() - quiet_since >= 0.2:
                break
        client.disconnect()
        await asyncio.to_thread(client.loop_stop)

    async def _diagnose(self) -> str:
        """Why a connection to the broker fails, said without the URL (it may hold a secret)."""
        where = f"{self.host}:{self.port}"
        context = None
        try:
            if self.tls:
                t = self.cfg.tls or TlsConfig()
                context = ssl.create_default_context(cafile=t.ca_file)
                if t.cert_file:
                    context.load_cert_chain(t.cert_file, t.key_file)
                context.check_hostname = not t.insecure
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(
                    self.host,
                    self.port,
                    ssl=context,
                    server_hostname=self.host if context else None,
                ),
                5,
            )
            writer.close()
            return f"the connection to {where} opens, then fails"
        except ssl.SSLCertVerificationError as exc:
            return (
                f"TLS: the broker's certificate at {where} is not trusted "
                f"({exc.verify_message}); check tls.ca_file"
            )
        except ssl.SSLError as exc:
            return f"TLS handshake with {where} failed: {exc.reason or exc}"
        except TimeoutError:
            return f"no answer from the broker at {where} within 5 s"
        except OSError as exc:
            return f"cannot reach the broker at {where}: {exc.strerror or exc}"

    def _refusal(self, reason: str) -> str:
        message = f"the broker refused the connection: {reason}"
        low = reason.lower()
        if "authori" in low or "password" in low or "user name" in low:
            where = (
                f"environment variables {self.cfg.username_env or '(none)'} / "
                f"{self.cfg.password_env or '(none)'} (username_env / password_env)"
            )
            message += f"; check the user name and password in {where}"
        elif "identifier" in low:
            message += "; check client_id (another client may use it, or the broker limits it)"
        return message

    async def _drain(self, ctx: ConnectorContext, client: mqtt.Client) -> None:
        inbox = self._inbox
        while inbox:
            n = min(len(inbox), 5000)
            await self._flush(ctx, client, [inbox.popleft() for _ in range(n)])

    async def _flush(
        self, ctx: ConnectorContext, client: mqtt.Client, messages: list[mqtt.MQTTMessage]
    ) -> None:
        """Retained messages are the values as they stand, stamped with their last change (a
        retained state is as old as its ts says): after an `offline` they are written at the
        instant contact returned. The others arrive in order, live or replayed from the
        persistent session, and keep their time (DOMAIN.md §3)."""
        retained = [m for m in messages if m.retain]
        if retained:
            live = [m for m in messages if not m.retain]
            await self._emit(ctx, client, live, keeps_time=True)
            await self._emit(ctx, client, retained, keeps_time=False)
        else:
            await self._emit(ctx, client, messages, keeps_time=True)

    async def _emit(
        self,
        ctx: ConnectorContext,
        client: mqtt.Client,
        messages: list[mqtt.MQTTMessage],
        *,
        keeps_time: bool,
    ) -> None:
        if not messages:
            return
        now_ms = int(time.time() * 1000)
        samples: list = []
        rejected: list[Rejected] = []
        for msg in messages:
            s, r = self.parse(msg.topic, bytes(msg.payload), now_ms)
            samples += s
            rejected += r
        if not self.cfg.share_group:
            new = {s.machine for s in samples}.difference(self.machines)
            if new:
                self.machines += sorted(new)
        if samples and keeps_time:
            ctx.clock.observe(max(s.ts for s in samples))
        mids = [(m.mid, m.qos) for m in messages]

        def ack() -> None:
            for mid, qos in mids:
                client.ack(mid, qos)

        await ctx.send(
            Batch(
                samples,
                rejected,
                source=self.name,
                on_commit=ack,
                now=ctx.clock.now(),
                keeps_time=keeps_time,
            )
        )
