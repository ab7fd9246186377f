"""paho made lean (connectors/mqtt/client.py): MQTT 5 properties with their tables
built once, the same values as paho's own class for every property a PUBLISH may carry at a
ninth of the cost; a message whose MQTTMessageInfo (a threading.Condition) is made only when
read; on_message reached without the per-topic lookup when there is nothing to look up."""

from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st
from paho.mqtt.enums import MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from fieldlab.connectors.mqtt.client import _INFO, PATCHED, LeanMessage, LeanProperties

text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20
)
publish_properties = st.fixed_dictionaries(
    {},
    optional={
        "PayloadFormatIndicator": st.integers(0, 1),
        "MessageExpiryInterval": st.integers(0, 2**32 - 1),
        "TopicAlias": st.integers(1, 65535),
        "ContentType": text,
        "ResponseTopic": text,
        "CorrelationData": st.binary(max_size=20),
        "UserProperty": st.lists(st.tuples(text, text), min_size=1, max_size=3),
        "SubscriptionIdentifier": st.lists(st.integers(1, 268435455), min_size=1, max_size=2),
    },
)


def _packed(values: dict) -> bytes:
    props = Properties(PacketTypes.PUBLISH)
    for name, value in values.items():
        setattr(props, name, value)
    return bytes(props.pack())


@given(publish_properties, st.binary(max_size=8))
def test_every_publish_property_reads_as_paho_reads_it(values, rest):
    block = _packed(values) + rest
    theirs, their_len = Properties(PacketTypes.PUBLISH).unpack(block)
    ours, our_len = LeanProperties(PacketTypes.PUBLISH).unpack(block)
    assert our_len == their_len
    assert ours.json() == theirs.json() and str(ours) == str(theirs)
    assert ours.isEmpty() == (not values)


def test_an_instance_read_twice_keeps_only_the_second_block():
    props = LeanProperties(PacketTypes.PUBLISH)
    props.unpack(_packed({"ContentType": "json", "UserProperty": [("a", "b")]}))
    props.unpack(_packed({}))
    assert props.isEmpty() and props.json() == {}
    props.unpack(_packed({"UserProperty": [("c", "d")]}))
    assert props.json() == {"UserProperty": [("c", "d")]}


def test_paho_decodes_a_publish_with_them_and_the_same_result():
    from paho.mqtt import client

    assert "paho.mqtt.client.Properties" in PATCHED
    topic, payload = b"fieldlab/line-1/press-1", b'{"value": 1}'
    block = _packed({"UserProperty": [("k", "v")]})
    body = struct.pack("!H", len(topic)) + topic + struct.pack("!H", 7) + block + payload
    try:
        from paho.mqtt import _packet  # paho 2.2 decodes here
    except ImportError:  # pragma: no cover - paho 2.1 decodes in client._handle_publish
        assert client.Properties is LeanProperties
        return
    got = _packet.decode_publish(0x32, body, MQTTProtocolVersion.MQTTv5)
    assert isinstance(got.properties, LeanProperties)
    assert got.properties.json() == {"UserProperty": [("k", "v")]} and got.payload == payload
    empty = struct.pack("!H", len(topic)) + topic + struct.pack("!H", 8) + b"\x00" + payload
    assert _packet.decode_publish(0x32, empty, MQTTProtocolVersion.MQTTv5).payload == payload


def test_a_received_message_makes_no_info_and_a_published_one_gets_one_that_works():
    import paho.mqtt.client as mqtt

    assert "paho.mqtt.client.MQTTMessage" in PATCHED and mqtt.MQTTMessage is LeanMessage
    received = mqtt.MQTTMessage(7, b"fieldlab/line-1/press-1")
    received.payload, received.qos = b"{}", 1
    try:
        _INFO.__get__(received, type(received))
    except AttributeError:
        pass  # nothing made it
    else:
        raise AssertionError("a received message made its MQTTMessageInfo")
    assert (received.mid, received.topic, received.properties) == (
        7,
        "fieldlab/line-1/press-1",
        None,
    )
    info = received.info  # asked for: made once, kept
    assert info is received.info and info.mid == 7 and not info.is_published()
    info._set_as_published()
    assert received.info.is_published()
    other = mqtt.MQTTMessage(8)
    other.info = mqtt.MQTTMessageInfo(9)
    assert other.info.mid == 9 and other == mqtt.MQTTMessage(8)


def test_on_message_gets_every_message_with_and_without_callbacks_per_topic():
    """The buffered client skips paho's per-topic callback lookup when none was added; with one
    added it is paho's own dispatch (the per-topic callback, not on_message, for its topic)."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from fieldlab.connectors.mqtt.client import SUPPORTED, BufferedClient

    assert SUPPORTED
    got: list[tuple[str, int]] = []
    client = BufferedClient(CallbackAPIVersion.VERSION2, client_id="t")
    client.on_message = lambda c, u, m: got.append(("any", m.mid))
    for mid, topic in ((1, b"a/b"), (2, b"a/\xff")):  # not UTF-8: on_message gets it too
        client._handle_on_message(mqtt.MQTTMessage(mid, topic))
    assert got == [("any", 1), ("any", 2)]
    client.message_callback_add("a/+", lambda c, u, m: got.append(("a/+", m.mid)))
    client._handle_on_message(mqtt.MQTTMessage(3, b"a/c"))
    client._handle_on_message(mqtt.MQTTMessage(4, b"x/y"))
    assert got[2:] == [("a/+", 3), ("any", 4)]

    def boom(c, u, m):
        raise ValueError("a receiver's bug")

    client.message_callback_remove("a/+")
    client.on_message = boom
    client.suppress_exceptions = True
    client._handle_on_message(mqtt.MQTTMessage(4, b"a/b"))  # logged, not raised
    client.suppress_exceptions = False
    try:
        client._handle_on_message(mqtt.MQTTMessage(5, b"a/b"))
    except ValueError:
        pass
    else:
        raise AssertionError("paho raises a receiver's exception unless told to suppress it")


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _publish_packet(
    topic: bytes, payload: bytes, qos: int, dup: bool, retain: bool, mid: int, props: bytes | None
) -> tuple[int, bytes, bytes]:
    """(first byte, the packet, the packet after its fixed header)."""
    body = struct.pack("!H", len(topic)) + topic
    if qos:
        body += struct.pack("!H", mid)
    if props is not None:
        body += props
    body += payload
    head = 0x30 | (0x08 if dup else 0) | (qos << 1) | (0x01 if retain else 0)
    return head, bytes([head]) + _varint(len(body)) + body, body


packets = st.lists(
    st.tuples(
        st.binary(max_size=40),  # topic (empty: paho's error on 3.1.1)
        st.binary(max_size=300),  # payload (long enough for a 2-byte remaining length)
        st.integers(0, 2),
        st.booleans(),
        st.booleans(),
        st.integers(1, 65535),
        publish_properties,
    ),
    min_size=1,
    max_size=6,
)


@given(packets, st.booleans(), st.integers(0, 8), st.sampled_from([b"", b"\xd0\x00", b"\x90"]))
def test_publishes_read_from_the_buffer_are_the_messages_paho_reads(given_packets, v5, cut, after):
    """`_Buffered._publishes` against paho's own decode_publish: every whole QoS 0/1 PUBLISH at
    the front of the buffer gives the message paho would give, and it stops, leaving the rest
    for paho, at the first packet it does not take (QoS 2, properties to read, an empty 3.1.1
    topic, a PINGRESP, a packet cut short)."""
    from paho.mqtt import _packet
    from paho.mqtt.enums import CallbackAPIVersion

    from fieldlab.connectors.mqtt.client import BufferedClient

    protocol = MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311
    client = BufferedClient(CallbackAPIVersion.VERSION2, protocol=protocol, manual_ack=True)
    got: list = []
    client.on_message = lambda c, u, m: got.append(m)
    built = []
    for topic, payload, qos, dup, retain, mid, values in given_packets:
        props = (_packed(values) if values else b"\x00") if v5 else None
        head, raw, body = _publish_packet(topic, payload, qos, dup, retain, mid, props)
        built.append((head, raw, body, qos < 2 and (v5 or bool(topic)) and not (v5 and values)))
    stream = b"".join(raw for _, raw, _, _ in built) + after
    stream = stream[: max(0, len(stream) - cut)]
    wanted, used = [], 0
    for head, raw, body, takes in built:
        if not takes or used + len(raw) > len(stream):
            break
        wanted.append(_packet.decode_publish(head, body, protocol))
        used += len(raw)
    client._rbuf = bytearray(stream)
    client._publishes()
    assert [(m._topic, m.mid, m.qos, m.dup, m.retain, m.payload) for m in got] == [
        (w.topic, w.mid, w.qos, w.dup, w.retain, w.payload) for w in wanted
    ]
    for m, w in zip(got, wanted, strict=True):
        assert (m.properties is None) == (w.properties is None)
        assert m.properties is None or m.properties.json() == w.properties.json() == {}
        assert isinstance(m, LeanMessage) and m.timestamp > 0
    assert bytes(client._rbuf) == stream[used:]
