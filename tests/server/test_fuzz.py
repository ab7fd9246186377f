"""Bad input, generated (hypothesis): MQTT payloads, ingest lines, site configs, Modbus replies
and OPC UA status codes. No crash, no hang; every input is stored or rejected with a reason,
and the counts add up."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import socket
import struct
import time
from pathlib import Path

import pytest
import yaml
from asyncua import ua
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from fieldlab.config import ConfigError
from fieldlab.connectors.base import ConnectorContext, SourceHealth
from fieldlab.connectors.modbus.codec import decode
from fieldlab.connectors.modbus.connector import Config as ModbusConfig
from fieldlab.connectors.modbus.connector import ModbusConnector
from fieldlab.connectors.mqtt.connector import Config as MqttConfig
from fieldlab.connectors.mqtt.connector import MqttConnector
from fieldlab.connectors.opcua.connector import Config as OpcUaConfig
from fieldlab.connectors.opcua.connector import OpcUaConnector
from fieldlab.gateway.config import parse_gateway_config
from fieldlab.store import SqliteStore
from fieldlab.store.ingest import ingest_file
from tests.fault_injectors import Listener
from tests.helpers import Sent

FUZZ = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# -- MQTT payloads --------------------------------------------------------------------------------

json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False),
    st.text(max_size=20),
)
json_value = st.recursive(
    json_leaf,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(["ts", "value", "machine", "signal", "x"]), children)
    ),
    max_leaves=12,
)
payloads = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=100).map(str.encode),
    json_value.map(lambda v: json.dumps(v).encode()),
    st.builds(
        lambda ts, v: json.dumps({"ts": ts, "value": v}).encode(),
        st.one_of(st.integers(-(2**63), 2**63), st.text(max_size=30), st.none()),
        json_leaf,
    ),
    st.sampled_from([b"NaN", b'{"value": NaN}', b'{"value": Infinity}', b"\xff\xfe", b""]),
)
topics = st.one_of(
    st.just("fieldlab/s/a/press-1/temperature"),
    st.builds(
        "fieldlab/s/a/{}/{}".format,
        st.text("abcXYZ-_/ 1é", min_size=0, max_size=12),
        st.text("abc_9 Q", min_size=0, max_size=10),
    ),
    st.text(max_size=40),
)


@pytest.mark.slow
@FUZZ
@given(messages=st.lists(st.tuples(topics, payloads), min_size=1, max_size=20))
def test_mqtt_payloads_are_stored_or_rejected_and_counts_add_up(tmp_path: Path, messages):
    conn = MqttConnector(MqttConfig(type="mqtt"))
    db = tmp_path / f"fuzz-{time.monotonic_ns()}.db"
    with SqliteStore(db) as store:
        kept_messages = 0
        rejected = []
        samples = []
        for topic, payload in messages:
            s, r = conn.parse(topic, payload, 1772427600000)
            assert bool(s) != bool(r), (s, r)  # stored, or rejected: never neither
            assert all(x.reason for x in r)
            kept_messages += bool(s)
            samples += s
            rejected += r
        store.write(samples)
        store.write_rejected(rejected)
        assert store.rejected_count() == len(rejected)
    assert kept_messages + len(rejected) == len(messages)


# -- ingest lines ---------------------------------------------------------------------------------

lines = st.one_of(
    json_value.map(json.dumps),
    st.text(max_size=80).map(lambda s: s.replace("\n", " ").replace("\r", " ")),
    st.builds(
        lambda m, s, ts, v: json.dumps({"machine": m, "signal": s, "ts": ts, "value": v}),
        st.sampled_from(["press-1", "Press 1", "", "m" * 80, "cnc-2"]),
        st.sampled_from(["state", "good", "total", "temperature", "BAD", ""]),
        st.one_of(st.integers(0, 2**45), st.text(max_size=25), st.floats()),
        json_leaf,
    ),
)


@FUZZ
@given(text_lines=st.lists(lines, min_size=1, max_size=30))
def test_ingest_lines_are_stored_or_rejected_with_a_reason(tmp_path: Path, text_lines):
    case = tmp_path / f"case-{time.monotonic_ns()}"
    case.mkdir()
    src = case / "in.jsonl"
    src.write_text("\n".join(text_lines) + "\n", encoding="utf-8")
    nonblank = sum(1 for t in text_lines if t.strip())
    with SqliteStore(case / "s.db") as store:
        kept, rejected = ingest_file(store, src, quiet=True)
        stored_rejected = store.rejected(limit=1000)
    assert rejected == len(stored_rejected)
    assert all(r.reason for r in stored_rejected)
    assert kept <= nonblank - rejected  # same (series, ts) twice is one sample
    assert rejected <= nonblank


# -- site configs ---------------------------------------------------------------------------------

VALID = yaml.safe_load(
    """
timezone: Europe/Amsterdam
calendar:
  shifts: [{days: [mon, tue], start: "06:00", end: "14:00"}]
  breaks: [{days: [mon], start: "10:00", end: "10:15"}]
machines:
  press-1: {ideal_cycle_time_s: 12}
store: sqlite:///x.db
sources:
  - type: mqtt
    name: broker
    url: mqtt://127.0.0.1:1883
  - type: modbus
    name: plc
    host: 127.0.0.1
    devices: [{unit: 1, machine: press-1, fields: {good: {address: 0, type: UINT16}}}]
sinks:
  - {type: influxdb, api: v1, url: "http://127.0.0.1:8086", database: f}
gateway: {http: {port: 8787}}
"""
)


def _paths(obj, prefix=()):  # type: ignore[no-untyped-def]
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, (*prefix, i))


PATHS = [p for p in _paths(VALID) if p]
junk = st.one_of(
    json_leaf,
    st.lists(json_leaf, max_size=3),
    st.dictionaries(st.text(max_size=5), json_leaf, max_size=2),
)


@FUZZ
@given(
    edits=st.lists(st.tuples(st.sampled_from(PATHS), junk, st.booleans()), min_size=1, max_size=3)
)
def test_site_configs_load_or_fail_with_the_file_and_the_key(edits):
    doc = copy.deepcopy(VALID)
    for path, value, delete in edits:
        node = doc
        try:
            for key in path[:-1]:
                node = node[key]
            if delete:
                del node[path[-1]]
            else:
                node[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue
    text = yaml.safe_dump(doc)
    try:
        parse_gateway_config(text, "fuzz.yaml")
    except ConfigError as exc:
        message = str(exc)
        assert message.startswith("fuzz.yaml"), message
        assert "Traceback" not in message and len(message) < 2000


@FUZZ
@given(text=st.text(max_size=200))
def test_any_text_as_a_site_config_loads_or_fails_clearly(text):
    try:
        parse_gateway_config(text, "fuzz.yaml")
    except ConfigError as exc:
        assert str(exc).startswith("fuzz.yaml")


# -- Modbus replies -------------------------------------------------------------------------------


@FUZZ
@given(
    words=st.lists(st.integers(0, 0xFFFF), min_size=0, max_size=5),
    kind=st.sampled_from(
        ["INT16", "UINT16", "INT32", "UINT32", "INT64", "UINT64", "FLOAT32", "FLOAT64", "BIT"]
        + ["STRING"]
    ),
    order=st.sampled_from(["ABCD", "CDAB", "BADC", "DCBA"]),
    bit=st.one_of(st.none(), st.integers(0, 15)),
)
def test_modbus_decode_gives_a_value_or_a_clear_error(words, kind, order, bit):
    try:
        value = decode(words, kind, order, bit)
    except ValueError as exc:
        assert str(exc)
    else:
        assert value is not None


class FakeModbusReplies(Listener):
    """Fault injector: answers each Modbus request with generated bytes: exception replies,
    short and malformed frames, wrong transaction ids, or silence. A real server only sends
    well-formed replies. Connections are served one at a time, on the accept thread."""

    def __init__(self, replies: list[bytes | None]):
        self.replies = list(replies)
        super().__init__()

    def on_accept(self, conn: socket.socket) -> None:
        conn.settimeout(0.2)
        with conn:
            while not self._stop.is_set():
                try:
                    req = conn.recv(260)
                except TimeoutError:
                    continue
                except OSError:
                    break
                if not req:
                    break
                reply = self.replies.pop(0) if self.replies else None
                if reply is None:
                    continue  # silence
                frame = req[:2] + reply if len(reply) > 0 and reply[0] != 0xEE else reply[1:]
                try:
                    conn.sendall(frame)
                except OSError:
                    break


def _reply(function: int, body: bytes) -> bytes:
    """MBAP after the transaction id: protocol 0, length, unit 1, function, body."""
    return struct.pack(">HHB", 0, len(body) + 2, 1) + bytes([function]) + body


modbus_replies = st.one_of(
    st.builds(lambda c: _reply(0x83, bytes([c])), st.integers(0, 255)),  # exception
    st.builds(lambda n, b: _reply(3, bytes([n]) + b), st.integers(0, 255), st.binary(max_size=12)),
    st.builds(lambda b: _reply(3, b), st.binary(max_size=8)),  # short or malformed
    st.builds(lambda f, b: _reply(f, b), st.integers(0, 255), st.binary(max_size=6)),
    st.binary(min_size=1, max_size=20).map(lambda b: b"\xee" + b),  # raw garbage, no MBAP
    st.none(),  # no answer
)


@pytest.mark.slow
@settings(max_examples=40, deadline=None)
@given(replies=st.lists(modbus_replies, min_size=1, max_size=4))
def test_modbus_replies_never_crash_or_hang_the_connector(replies):
    server = FakeModbusReplies(replies)
    cfg = ModbusConfig.model_validate(
        {
            "type": "modbus",
            "host": "127.0.0.1",
            "port": server.port,
            "timeout_s": 0.3,
            "devices": [
                {
                    "unit": 1,
                    "machine": "press-1",
                    "fields": {"good": {"address": 0, "type": "UINT32"}},
                }
            ],
        }
    )
    conn = ModbusConnector(cfg)

    emit = Sent()

    async def poll() -> tuple[int, int]:
        ctx = ConnectorContext("fuzz", emit, SourceHealth("fuzz", "modbus"), logging.getLogger("t"))
        client = AsyncModbusTcpClient(
            "127.0.0.1", port=server.port, timeout=0.3, retries=0, reconnect_delay=0
        )
        await client.connect()
        got = rej = 0
        try:
            for _ in range(len(replies)):
                for d in conn.devices:
                    d.retry_at = 0
                try:
                    samples, rejected = await conn.poll_once(client, ctx)
                except (ConnectionError, ModbusException, OSError, TimeoutError):
                    break  # what run() handles: reconnect with backoff
                got += len(samples)
                rej += len(rejected)
                assert all(r.reason for r in rejected)
        finally:
            client.close()
        return got, rej

    try:
        asyncio.run(asyncio.wait_for(poll(), 10))  # no hang
    finally:
        server.close()


# -- OPC UA status codes --------------------------------------------------------------------------

STATUS_NAMES = [n for n in dir(ua.StatusCodes) if not n.startswith("_")]


@FUZZ
@given(
    name=st.sampled_from(STATUS_NAMES),
    value=st.one_of(json_leaf, st.binary(max_size=5)),
)
def test_opcua_values_with_any_status_are_stored_or_rejected_with_the_status(name, value):
    cfg = OpcUaConfig.model_validate(
        {
            "type": "opcua",
            "url": "opc.tcp://127.0.0.1:4840/",
            "machines": {"press-1": {"temperature": {"node": "ns=2;s=t"}}},
        }
    )
    conn = OpcUaConnector(cfg, Path("."))
    code = ua.StatusCode(getattr(ua.StatusCodes, name))
    dv = ua.DataValue(ua.Variant(value), StatusCode=code, SourceTimestamp=None)
    samples: list = []
    rejected: list = []
    ctx = ConnectorContext(
        "fuzz",
        None,
        SourceHealth("fuzz", "opcua"),
        logging.getLogger("t"),  # type: ignore[arg-type]
    )
    conn.convert(("press-1", "temperature"), dv, samples, rejected, ctx)
    assert len(samples) + len(rejected) >= 1
    if not code.is_good():
        assert not samples and name in rejected[0].reason
    for r in rejected:
        assert r.reason


@pytest.fixture(autouse=True)
def _quiet_logs():  # type: ignore[no-untyped-def]
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    yield
