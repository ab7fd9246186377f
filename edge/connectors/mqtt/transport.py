"""The MQTT transport (paho-mqtt): one broker connection for any payload format.

The plain MQTT connector (topics and JSON) and the Sparkplug B host are decoders on this: the
session, subscriptions, TLS and credentials, the MQTT 5 → 3.1.1 fallback, why a broker cannot
be reached, the gathering of bursts, acknowledgements after commit and the clean stop live here
once. A connector says what it wants (`Session`) and gets events on its `Receiver`.

Every message is acknowledged only after its samples are committed (`manual_ack`), whatever
the session: a crash loses nothing that the broker still holds. What the broker sends again
after a reconnect (a QoS 1 message it has no acknowledgement for, flagged DUP, with its packet
id) is handed on only if this transport has not handed it on before (`_Copies`): a broker
restart then costs no second write to the store or the InfluxDB queue.
"""

from __future__ import annotations

import asyncio
import collections
import math
import os
import ssl
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol
from urllib.parse import unquote, urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from fieldlab.config.tls import ca_file
from fieldlab.connectors.base import ConnectorContext
from fieldlab.connectors.mqtt.client import BufferedClient
from fieldlab.connectors.mqtt.config import BrokerConfig, TlsConfig

__all__ = ["Message", "Receiver", "Session", "Transport", "Will"]

Message = mqtt.MQTTMessage
#: messages handed to a receiver at once at most (one batch, one commit)
CHUNK = 5000
_PUBACK = 0x40
#: messages waiting that make a batch already: no pause to let more gather
GATHERED = 500
#: how long the inbox may stay unchanged before a gathering burst is taken as complete
GATHER_SLICE_S = 0.001
#: an in-flight window this small is said on the log (Mosquitto's default is 20)
SMALL_WINDOW = 100


class _Sent:
    """One handed-on batch: whether its acknowledgements have gone."""

    __slots__ = ("acked",)

    def __init__(self) -> None:
        self.acked = False


class _Copies:
    """The QoS 1 messages handed on, by packet id (the broker's: at most 65,535 at a time, a
    new message with the id takes the old one's place), to know a re-sent one. A broker that
    restarts, or a link that drops, before the PUBACKs arrived sends the messages again with
    the DUP flag and the same packet id (Mosquitto keeps them in its persistence file); a copy
    of a message handed on here, the same topic and payload, is not handed on again. It is
    acknowledged at once if its batch was (that PUBACK may have been lost with the link), else
    by its batch's own PUBACK, which names the same packet id. A copy of a message this
    process never saw (the gateway restarted) goes on as before: the store keeps it once."""

    def __init__(self) -> None:
        self.seen: dict[int, tuple[bytes, bytes | bytearray, _Sent]] = {}
        self.skipped = 0

    def note(self, messages: list[Message], sent: _Sent) -> None:
        seen = self.seen
        for m in messages:
            if m.qos == 1:
                seen[m.mid] = (m._topic, m.payload, sent)

    def fresh(self, messages: list[Message]) -> tuple[list[Message], list[int]]:
        """The messages not handed on before, and the packet ids of copies to acknowledge now."""
        if not any(m.dup for m in messages):
            return messages, []
        out: list[Message] = []
        ack_now: list[int] = []
        seen = self.seen
        for m in messages:
            if m.dup and m.qos == 1:
                before = seen.get(m.mid)
                if before is not None and before[1] == m.payload and before[0] == m._topic:
                    self.skipped += 1
                    if before[2].acked:
                        ack_now.append(m.mid)
                    continue
            out.append(m)
        return out, ack_now


def _puback(client: mqtt.Client, mids: list[int]) -> None:
    """PUBACKs as one outgoing packet and one wake-up of paho's network thread (`client.ack`
    wakes it once per message, ~6 µs each: a fifth of the per-message cost at broker speed)."""
    packet = b"".join(struct.pack("!BBH", _PUBACK, 2, mid) for mid in mids)
    queue = getattr(client, "_packet_queue", None)
    if queue is not None:  # paho 2.x
        queue(_PUBACK, packet, 0, 0)
    else:  # pragma: no cover - a paho without it: one by one
        for mid in mids:
            client.ack(mid, 1)


@dataclass(frozen=True)
class Will:
    topic: str
    payload: str | bytes
    qos: int = 1
    retain: bool = True


@dataclass
class Session:
    """What a connector asks of its broker connection."""

    filters: list[str]
    persistent: bool = True
    protocol: Literal["auto", "3.1.1", "5"] = "3.1.1"
    session_expiry_s: int = 7 * 86400
    receive_maximum: int = 1000
    flush_ms: int = 20
    #: made anew at every connect (its payload may carry the time)
    will: Callable[[], Will] | None = None
    #: published after every connect, before anything else (a Sparkplug host's STATE)
    greeting: Callable[[], list[Will]] = field(default=lambda: [])


class Receiver(Protocol):
    async def connected(self, ctx: ConnectorContext, session_present: bool) -> None: ...

    async def lost(
        self, ctx: ConnectorContext, kind: Literal["unreachable", "refused", "gone"], why: str
    ) -> None:
        """`unreachable`: never answered; `refused`: answered no; `gone`: dropped a link."""

    async def received(
        self, ctx: ConnectorContext, messages: list[Message], ack: Callable[[], None]
    ) -> None:
        """In arrival order; `ack` (call it once they are committed) acknowledges them all."""


class Transport:
    def __init__(self, name: str, broker: BrokerConfig, session: Session):
        self.name, self.broker, self.session = name, broker, session
        url = urlparse(broker.url)
        self.tls = url.scheme in ("mqtts", "ssl") or broker.tls is not None
        self.host = url.hostname or "127.0.0.1"
        self.port = url.port or (8883 if self.tls else 1883)
        env = os.environ.get
        user, password = unquote(url.username or "") or None, unquote(url.password or "") or None
        self.username = env(broker.username_env) if broker.username_env else user
        self.password = env(broker.password_env) if broker.password_env else password
        self.v5 = session.protocol in ("auto", "5")
        self.client: mqtt.Client | None = None
        self._closing: mqtt.Client | None = None
        self._inbox: collections.deque[Message] = collections.deque()
        self._wake_pending = False
        self._copies = _Copies()  # kept across reconnects: that is when copies come
        # the broker's in-flight window, watched (`_watch_window`)
        self._outstanding = 0  # messages handed on, not yet acknowledged
        self._last_burst = 0.0
        self._bursts = 0
        self._full = 0
        self._held_max = 0
        self._window_said = False

    # -- the client ------------------------------------------------------------------------------

    def _client(
        self, loop: asyncio.AbstractEventLoop, control: asyncio.Queue, wake: asyncio.Event
    ) -> mqtt.Client:
        s = self.session
        protocol = MQTTProtocolVersion.MQTTv5 if self.v5 else MQTTProtocolVersion.MQTTv311
        kwargs: dict[str, Any] = {"protocol": protocol, "manual_ack": True}
        if not self.v5:
            kwargs["clean_session"] = not s.persistent
        client = BufferedClient(
            CallbackAPIVersion.VERSION2, client_id=self.broker.client_id, **kwargs
        )
        if self.username:
            client.username_pw_set(self.username, self.password)
        if self.tls:
            t = self.broker.tls or TlsConfig()
            client.tls_set(
                ca_certs=ca_file(t.ca_file),
                certfile=t.cert_file,
                keyfile=t.key_file,
                cert_reqs=ssl.CERT_REQUIRED,
            )
            client.tls_insecure_set(t.insecure)
        if s.will is not None:
            w = s.will()
            client.will_set(w.topic, w.payload, qos=w.qos, retain=w.retain)

        def on_connect(c: mqtt.Client, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
            if rc.is_failure:
                loop.call_soon_threadsafe(control.put_nowait, ("refused", str(rc)))
                return
            for g in s.greeting():
                c.publish(g.topic, g.payload, qos=g.qos, retain=g.retain)
            for f in s.filters:
                c.subscribe(f, qos=1)
            loop.call_soon_threadsafe(control.put_nowait, ("connected", flags.session_present))

        def on_disconnect(c: mqtt.Client, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
            loop.call_soon_threadsafe(control.put_nowait, ("disconnected", str(rc)))

        inbox = self._inbox

        def wake_up() -> None:
            # one self-pipe write per burst, not per message, and none while one is due
            if inbox and not self._wake_pending:
                self._wake_pending = True
                loop.call_soon_threadsafe(wake.set)

        # The hot path: a deque append. The buffered client wakes the loop after each read
        # from the socket, so a burst (the broker's whole in-flight window) is there at once.
        per_read = hasattr(client, "on_read")
        if per_read:
            client.on_read = wake_up  # type: ignore[attr-defined]

        def on_message(c: mqtt.Client, userdata: Any, msg: Message) -> None:
            msg.properties = None  # MQTT 5's, unused: freed now, not with the batch
            inbox.append(msg)
            if not per_read:
                wake_up()

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
        ctx: ConnectorContext,
    ) -> mqtt.Client:
        client = self._client(loop, control, wake)
        connect_kwargs: dict[str, Any] = {"keepalive": 15}
        if self.v5:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = self.session.session_expiry_s
            props.ReceiveMaximum = self.session.receive_maximum
            connect_kwargs.update(clean_start=not self.session.persistent, properties=props)
        # paho reconnects in its own thread, with the gateway's backoff (first 0.25 s, cap 2 s);
        # it annotates int but takes a float: the first retry after 0.25 s, not 1 s
        client.reconnect_delay_set(ctx.backoff.first, ctx.backoff.cap)  # type: ignore[arg-type]
        client.connect_async(self.host, self.port, **connect_kwargs)
        client.loop_start()
        self.client = client
        return client

    def publish(self, topic: str, payload: str | bytes, qos: int = 0, retain: bool = False) -> None:
        if self.client is not None:
            self.client.publish(topic, payload, qos=qos, retain=retain)

    def acker(self, client: mqtt.Client, messages: list[Message]) -> Callable[[], None]:
        """One call that acknowledges all of `messages` (`_puback`)."""
        mids = [m.mid for m in messages if m.qos == 1]
        exactly_once = [m.mid for m in messages if m.qos == 2]
        self._outstanding += len(messages)
        sent = _Sent()
        self._copies.note(messages, sent)

        def ack() -> None:
            self._outstanding -= len(messages)
            sent.acked = True
            if mids:
                _puback(client, mids)
            for mid in exactly_once:
                client.ack(mid, 2)

        return ack

    async def _gather(self, ctx: ConnectorContext) -> None:
        """Let a burst gather into one commit, for at most `flush_ms`, but only while it is
        still arriving. A broker sends at most so many unacknowledged messages (Mosquitto
        since 2.0.16: `max_inflight_messages`, 20 by default, whatever the client's receive
        maximum) and then waits for their acknowledgements, which come after the commit:
        waiting the full `flush_ms` for more held every 20 messages for 20 ms (measured on
        Mosquitto 2.0.21: a backlog drained at 453 messages/s; now about 5,000)."""
        loop = asyncio.get_running_loop()
        self._watch_window(ctx, loop.time())
        deadline = loop.time() + self.session.flush_ms / 1000
        seen = len(self._inbox)
        while loop.time() < deadline:
            await asyncio.sleep(GATHER_SLICE_S)
            now = len(self._inbox)
            if now == seen or now >= GATHERED:  # quiet for a slice, or enough for one commit
                return
            seen = now

    def _watch_window(self, ctx: ConnectorContext, now: float) -> None:
        """Say once when the broker's in-flight window caps what the gateway can read: 200
        bursts in a row, each within 50 ms of the last (a backlog, not a publisher's rhythm;
        10 ms was too tight: a 2-core machine's occasional stall of the event loop, a thread
        writing a file, broke the row at 197 bursts of 2.4 ms each),
        never more than `SMALL_WINDOW` messages unacknowledged at once, and most bursts near
        that most (a window refilled as it is acknowledged; live traffic that the gateway
        keeps up with comes a few messages at a time)."""
        held = len(self._inbox) + self._outstanding
        if now - self._last_burst > 0.05:
            self._bursts, self._full, self._held_max = 0, 0, 0
        self._last_burst = now
        self._bursts += 1
        self._held_max = max(self._held_max, held)
        self._full += held * 2 >= self._held_max
        if (
            self._bursts >= 200
            and 10 <= self._held_max <= SMALL_WINDOW
            and self._full * 5 >= self._bursts * 2
            and not self._window_said
        ):
            self._window_said = True
            ctx.count("small_inflight_window")
            ctx.log.warning(
                "%s: the broker sent no more than %d messages before they were acknowledged, and "
                "the gateway acknowledges after each commit: a backlog drains a few thousand "
                "messages a second at most. Mosquitto: set max_inflight_messages 1000 in "
                "mosquitto.conf (20 by default since 2.0.16); docs/SCALING.md",
                self.name,
                self._held_max,
            )

    # -- running ---------------------------------------------------------------------------------

    async def run(self, ctx: ConnectorContext, receiver: Receiver) -> None:
        loop = asyncio.get_running_loop()
        control: asyncio.Queue = asyncio.Queue()
        wake = asyncio.Event()
        self._inbox = collections.deque()
        self._wake_pending = False
        self._outstanding = 0
        client = self._connect(loop, control, wake, ctx)
        waker = asyncio.ensure_future(wake.wait())
        controller = asyncio.ensure_future(control.get())
        ever = False
        diagnosed = -math.inf
        last_why = ""
        try:
            while True:
                done, _ = await asyncio.wait(
                    {waker, controller}, return_when=asyncio.FIRST_COMPLETED
                )
                if waker in done:
                    if len(self._inbox) < GATHERED:
                        await self._gather(ctx)
                    wake.clear()
                    self._wake_pending = False
                    await self._drain(ctx, client, receiver)
                    waker = asyncio.ensure_future(wake.wait())
                if controller not in done:
                    continue
                kind, item = controller.result()
                controller = asyncio.ensure_future(control.get())
                if kind == "connected":
                    ever = True
                    await receiver.connected(ctx, bool(item))
                elif kind == "unreachable":
                    # paho retries on its own but keeps no reason: find one (a closed port,
                    # an untrusted certificate), at most every 10 s.
                    if time.monotonic() - diagnosed > 10:
                        diagnosed = time.monotonic()
                        last_why = await self._diagnose()
                    await receiver.lost(ctx, "unreachable", last_why)
                elif kind == "refused":
                    # The broker answered and said no: say why, once, and what to fix.
                    ever = True  # it answered, so it speaks this protocol: no fallback
                    await self._drain(ctx, client, receiver)
                    await receiver.lost(ctx, "refused", self._refusal(str(item)))
                elif not ever and self.v5 and self.session.protocol == "auto":
                    # A broker that does not speak MQTT 5 (amqtt, older ones) drops the
                    # CONNECT: fall back to 3.1.1 once.
                    ctx.log.warning("%s: the broker does not take MQTT 5; using 3.1.1", self.name)
                    self.v5 = False
                    client.loop_stop()
                    client = self._connect(loop, control, wake, ctx)
                else:  # disconnected
                    await self._drain(ctx, client, receiver)
                    await receiver.lost(ctx, "gone", f"broker: {item}")
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

    async def _drain(self, ctx: ConnectorContext, client: mqtt.Client, receiver: Receiver) -> None:
        inbox = self._inbox
        while inbox:
            messages = [inbox.popleft() for _ in range(min(len(inbox), CHUNK))]
            messages, ack_now = self._copies.fresh(messages)
            if ack_now:
                _puback(client, ack_now)
            skipped = self._copies.skipped
            if skipped:
                self._copies.skipped = 0
                ctx.count("copies_skipped", skipped)
            if messages:
                await receiver.received(ctx, messages, self.acker(client, messages))

    async def close(self, last: list[Will] | None = None) -> None:
        """After the gateway committed everything: send the last acks (and `last`: a host's
        STATE offline), then disconnect.

        Before disconnecting, wait until the broker stops sending (it does once its in-flight
        window is full, as nothing new is acknowledged): closing a socket with unread data in
        it sends a reset, and a reset makes the broker drop the acks and the DISCONNECT it has
        received but not yet read (seen as 'Broken pipe' and duplicates after a clean stop).
        The messages that arrive meanwhile are not acknowledged, so the broker keeps them."""
        client, self._closing = self._closing, None
        if client is None:
            return
        infos = [client.publish(w.topic, w.payload, qos=w.qos, retain=w.retain) for w in last or []]
        seen, quiet_since = len(self._inbox), time.monotonic()
        deadline = quiet_since + 2.0
        while time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            if len(self._inbox) != seen:
                seen, quiet_since = len(self._inbox), time.monotonic()
            elif time.monotonic() - quiet_since >= 0.2 and all(i.is_published() for i in infos):
                break
        client.disconnect()
        await asyncio.to_thread(client.loop_stop)

    # -- saying why ------------------------------------------------------------------------------

    async def _diagnose(self) -> str:
        """Why a connection to the broker fails, said without the URL (it may hold a secret)."""
        where = f"{self.host}:{self.port}"
        context = None
        try:
            if self.tls:
                t = self.broker.tls or TlsConfig()
                context = ssl.create_default_context(cafile=ca_file(t.ca_file))
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
                f"environment variables {self.broker.username_env or '(none)'} / "
                f"{self.broker.password_env or '(none)'} (username_env / password_env)"
            )
            message += f"; check the user name and password in {where}"
        elif "identifier" in low:
            message += "; check client_id (another client may use it, or the broker limits it)"
        return message
