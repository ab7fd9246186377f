"""paho's client, reading the socket a buffer at a time instead of a field at a time.

paho 2.x reads every packet with three `recv` calls or more (the command byte, each byte of
the remaining length, then the rest) and handles one packet per wake-up of its network loop,
so a subscriber pays a `select` and three system calls for every message. At broker speed
that is most of what a message costs: measured on the 2-core VM, draining 50,000 queued QoS 1
messages, stock paho 28.9k msg/s, this client 50.1–51.9k (1.75×). `BufferedClient` reads up
to 64 KiB at once, serves paho's reads from that buffer, and keeps handling packets while the
buffer holds any. The whole QoS 0/1 PUBLISH packets at the front of the buffer it reads itself
(`_publishes`: the message paho would make, a third less CPU for a drain); every other packet,
the acknowledgements, reconnects and TLS are paho's own.

It also hands a message to `on_message` without paho's per-topic callback lookup when no
such callback was added (the topic decoded twice and a trie walked, per message, for nothing).
It leans on five of paho's private methods; where a paho lacks them, it is paho's own client.

MQTT 5 costs paho a `Properties` per received PUBLISH, and each builds two tables of all 27
property kinds anew and clears them one by one before it reads the (usually empty) property
block: measured, 44 µs to decode a PUBLISH under MQTT 5 against 5 µs under 3.1.1, most of what
a message cost the gateway (#32). `LeanProperties` is paho's class with those tables built once
and an empty block read as such. And every message paho reads gets an `MQTTMessageInfo` with a
`threading.Condition` of its own, which only a publisher waits on: a quarter of the gateway's
CPU in a live profile (py-spy). `LeanMessage` makes it when something asks for it. paho uses
both from import on (`use_lean_classes`): the same objects and answers, less work.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

#: one read from the socket (Mosquitto's own client reads its socket the same way)
READ_SIZE = 65536

#: paho's methods it leans on (and the attributes paho 2.x sets: _in_packet, _manual_ack, …)
_NEEDS = (
    "_sock_recv",
    "_sock_close",
    "_packet_read",
    "_loop_rc_handle",
    "_handle_on_message",
    "_send_puback",
)
SUPPORTED = all(hasattr(mqtt.Client, name) for name in _NEEDS)


class _Buffered(mqtt.Client):
    _rbuf: bytearray = bytearray()
    #: called after each read from the socket, its packets all handled: a receiver wakes its
    #: consumer once per read, with every message of it already there
    on_read: Callable[[], None] | None = None

    def _sock_recv(self, bufsize: int) -> bytes:
        buf = self._rbuf
        if not buf:
            data: bytes = super()._sock_recv(max(bufsize, READ_SIZE))
            if len(data) <= bufsize:  # b"" (closed) included
                return data
            self._rbuf = buf = bytearray(data)
        out = bytes(buf[:bufsize])
        del buf[:bufsize]  # O(1) at the front of a bytearray
        return out

    def _sock_close(self) -> None:
        self._rbuf = bytearray()  # what the old connection sent is not the new one's
        super()._sock_close()

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        """paho's read, then every packet already in the buffer: the socket has no more to say
        about them, so waiting in `select` for them would stall until the next message."""
        try:
            rc = super().loop_read(max_packets)
            while rc == MQTTErrorCode.MQTT_ERR_SUCCESS and self._rbuf and self._sock is not None:
                rc = self._publishes()
                if rc != MQTTErrorCode.MQTT_ERR_SUCCESS or not self._rbuf:
                    break
                rc = self._packet_read()
                if rc == MQTTErrorCode.MQTT_ERR_AGAIN:  # a partial packet: the rest comes later
                    return MQTTErrorCode.MQTT_ERR_SUCCESS
                if rc > 0:
                    return self._loop_rc_handle(rc)
            return rc
        finally:
            if self.on_read is not None:
                self.on_read()

    def _publishes(self) -> MQTTErrorCode:
        """The whole QoS 0 and 1 PUBLISH packets at the front of the buffer, read here as
        paho's `decode_publish` and `_handle_publish` read them (the same message: topic, packet
        id, flags, payload, an empty MQTT 5 property block as an empty `Properties`), without
        paho's three reads, per-packet dict and struct formats (a third of a drain's CPU in
        py-spy, #32). Anything else stops it and goes to paho: another packet, a partial one,
        QoS 2, an MQTT 5 property block that is not empty, an empty 3.1.1 topic (paho's error),
        a packet half read by paho already, a client with a logger (paho logs each PUBLISH)."""
        buf = self._rbuf
        if (
            not buf
            or self._in_packet["command"]
            or self._logger is not None
            or self.on_log is not None
        ):
            return MQTTErrorCode.MQTT_ERR_SUCCESS
        v5 = self._protocol == mqtt.MQTTv5
        manual = self._manual_ack
        make = mqtt.MQTTMessage
        handle = self._handle_on_message
        n = len(buf)
        pos = 0
        got = False
        rc = MQTTErrorCode.MQTT_ERR_SUCCESS
        try:
            while pos < n:
                head = buf[pos]
                if head & 0xF0 != 0x30 or head & 0x06 > 0x02:  # a PUBLISH of QoS 0 or 1 only
                    break
                # the remaining length: 1 to 4 bytes, 7 bits each
                length, mult, at = 0, 1, pos + 1
                while True:
                    if at >= n or at - pos > 4:
                        return rc
                    byte = buf[at]
                    length += (byte & 0x7F) * mult
                    mult <<= 7
                    at += 1
                    if not byte & 0x80:
                        break
                end = at + length
                if end > n or length < 2:
                    break
                topic_len = (buf[at] << 8) | buf[at + 1]
                at += 2
                topic_end = at + topic_len
                qos = (head >> 1) & 0x03
                body = topic_end + (2 if qos else 0)
                if (not topic_len and not v5) or body + (1 if v5 else 0) > end:
                    break
                if v5 and buf[body]:  # properties to read: paho reads them
                    break
                message = make(
                    (buf[topic_end] << 8 | buf[topic_end + 1]) if qos else 0,
                    bytes(buf[at:topic_end]),
                )
                message.dup = bool(head & 0x08)
                message.qos = qos
                message.retain = bool(head & 0x01)
                if v5:
                    message.properties = LeanProperties(PacketTypes.PUBLISH)
                    body += 1
                message.payload = bytes(buf[body:end])
                message.timestamp = mqtt.time_func()
                pos = end
                got = True
                handle(message)
                if qos and not manual:
                    rc = self._send_puback(message.mid)
                    if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                        return rc
            return rc
        finally:
            if pos:
                del buf[:pos]
            if got:
                with self._msgtime_mutex:
                    self._last_bytes_received = mqtt.time_func()

    def _handle_on_message(self, message: mqtt.MQTTMessage) -> None:
        """paho's, without what it does for callbacks per topic when there are none (the
        gateway adds none): the topic decoded twice, a trie walked and a list made, for every
        message. With such a callback it is paho's own."""
        root = getattr(getattr(self, "_on_message_filtered", None), "_root", None)
        if root is None or root._children:
            super()._handle_on_message(message)
            return
        on_message = self.on_message
        if on_message is None:
            return
        with self._in_callback_mutex:
            try:
                on_message(self, self._userdata, message)
            except Exception as err:
                self._easy_log(mqtt.MQTT_LOG_ERR, "Caught exception in on_message: %s", err)
                if not self.suppress_exceptions:
                    raise


BufferedClient: type[mqtt.Client] = _Buffered if SUPPORTED else mqtt.Client

#: paho's own attributes of a Properties object; every other attribute is a property's value
_OWN = frozenset({"packetType", "types", "names", "properties"})
_TABLES = Properties(PacketTypes.PUBLISH)


class LeanProperties(Properties):
    """paho's MQTT 5 properties, the same in every answer, with the tables of property kinds
    shared (paho never changes them) instead of built for every packet."""

    def __init__(self, packetType: int) -> None:  # paho's name for it
        set_ = object.__setattr__
        set_(self, "packetType", packetType)
        set_(self, "types", _TABLES.types)
        set_(self, "names", _TABLES.names)
        set_(self, "properties", _TABLES.properties)

    def clear(self) -> None:
        for name in [n for n in vars(self) if n not in _OWN]:
            delattr(self, name)

    def unpack(self, buffer: Any) -> tuple[Properties, int]:
        if buffer and not buffer[0]:  # a property length of 0: most PUBLISH packets
            if len(vars(self)) > len(_OWN):
                self.clear()
            return self, 1
        result: tuple[Properties, int] = super().unpack(buffer)
        return result


#: paho's message as LeanMessage knows it; another paho keeps its own class
_MESSAGE_SLOTS = {"_topic", "dup", "info", "mid", "payload", "properties", "qos", "retain"}
_MESSAGE_SLOTS |= {"state", "timestamp"}
_INFO: Any = getattr(mqtt.MQTTMessage, "info", None)


class LeanMessage(mqtt.MQTTMessage):
    """paho's MQTTMessage whose `info` (an MQTTMessageInfo and its threading.Condition) is made
    the first time it is read: nobody reads a received one's; `publish` reads it under paho's
    out-message lock before the message is where the network thread can see it, so one thread
    makes it and every other finds it made."""

    __slots__ = ()

    def __init__(self, mid: int = 0, topic: bytes = b""):
        self.timestamp = 0.0
        self.state = mqtt.mqtt_ms_invalid
        self.dup = False
        self.mid = mid
        self._topic = topic
        self.payload = b""
        self.qos = 0
        self.retain = False
        self.properties = None

    @property
    def info(self) -> mqtt.MQTTMessageInfo:
        try:
            info: mqtt.MQTTMessageInfo = _INFO.__get__(self, type(self))
        except AttributeError:
            info = mqtt.MQTTMessageInfo(self.mid)
            _INFO.__set__(self, info)
        return info

    @info.setter
    def info(self, value: mqtt.MQTTMessageInfo) -> None:
        _INFO.__set__(self, value)


def use_lean_classes() -> list[str]:
    """paho builds `LeanProperties` and `LeanMessage` from now on where it is the paho they
    were written against: the names patched, for the log and tests."""
    patched = []
    for name in ("paho.mqtt._packet", "paho.mqtt.client"):  # 2.2 decodes in _packet, 2.1 in client
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if getattr(module, "Properties", None) in (Properties, LeanProperties):
            module.Properties = LeanProperties  # type: ignore[attr-defined]
            patched.append(f"{name}.Properties")
    known = set(getattr(mqtt.MQTTMessage, "__slots__", ())) == _MESSAGE_SLOTS
    if mqtt.MQTTMessage is not LeanMessage and known and _INFO is not None:
        mqtt.MQTTMessage = LeanMessage  # type: ignore[misc]
        patched.append("paho.mqtt.client.MQTTMessage")
    return patched


PATCHED = use_lean_classes()
