"""Every connector is a folder like a Telegraf plugin: its code and config model, a README, a
sample config that validates, and data-driven case files (input → expected samples) run here.
A new protocol adds a folder; nothing here names it unless it brings case files of a new kind."""

from __future__ import annotations

import datetime as dt
import logging
from importlib import resources
from typing import Any

import pytest
import yaml
from asyncua import ua

from fieldlab.connectors import connector_modules
from fieldlab.connectors.base import ConnectorContext, SourceHealth
from fieldlab.connectors.modbus.codec import decode
from fieldlab.connectors.mqtt.connector import Config as MqttConfig
from fieldlab.connectors.mqtt.connector import MqttConnector
from fieldlab.connectors.opcua.connector import Config as OpcUaConfig
from fieldlab.connectors.opcua.connector import OpcUaConnector
from fieldlab.gateway.config import parse_gateway_config
from tests.helpers import Sent

TYPES = sorted(connector_modules())


def cases(type_: str, name: str) -> list[dict[str, Any]]:
    text = resources.files(f"fieldlab.connectors.{type_}").joinpath(f"cases/{name}.yaml")
    return yaml.safe_load(text.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@pytest.mark.parametrize("type_", TYPES)
def test_a_connector_is_a_folder_with_readme_sample_and_cases(type_: str):
    folder = resources.files(f"fieldlab.connectors.{type_}")
    readme = folder.joinpath("README.md").read_text(encoding="utf-8")
    assert f"`type: {type_}`" in readme
    sample = yaml.safe_load(folder.joinpath("sample.yaml").read_text(encoding="utf-8"))
    site = {"store": "sqlite:///x.db", **sample}
    _, cfg = parse_gateway_config(yaml.safe_dump(site), f"{type_}/sample.yaml")
    assert [s.type for s in cfg.sources] == [type_] * len(sample["sources"])
    assert any(p.name.endswith(".yaml") for p in folder.joinpath("cases").iterdir())


@pytest.mark.parametrize("case", cases("mqtt", "payloads"), ids=lambda c: c["topic"])
def test_mqtt_payload_cases(case: dict[str, Any]):
    connector = MqttConnector(MqttConfig.model_validate({"type": "mqtt"}))
    payload = bytes.fromhex(case["payload_hex"]) if "payload_hex" in case else case["payload"]
    if isinstance(payload, str):
        payload = payload.encode()
    samples, rejected = connector.parse(case["topic"], payload, 99)
    if "reason" in case:
        assert not samples and case["reason"] in rejected[0].reason
        assert rejected[0].source.endswith(case["topic"])
    else:
        assert not rejected, rejected
        assert [[s.ts, s.machine, s.signal, s.value] for s in samples] == case["samples"]


@pytest.mark.parametrize(
    "case", cases("modbus", "codec"), ids=lambda c: f"{c['type']}-{c.get('order', 'ABCD')}"
)
def test_modbus_codec_cases(case: dict[str, Any]):
    got = decode(case["registers"], case["type"], case.get("order", "ABCD"), case.get("bit"))
    assert got == pytest.approx(case["value"]) if isinstance(got, float) else got == case["value"]
    _stored_as(case, got)


def _stored_as(case: dict[str, Any], raw: object) -> None:
    """A case with `signal` and `sample`: the decoded value through the mapper is that value."""
    if "sample" in case:
        from fieldlab.mapping import Mapper

        (sample,) = Mapper().apply("m-1", case["signal"], raw, 0, None)
        assert sample.value == case["sample"] and type(sample.value) is type(case["sample"])


@pytest.mark.parametrize("case", cases("sparkplug", "messages"), ids=lambda c: c["name"])
def test_sparkplug_message_cases(case: dict[str, Any]):
    import logging

    from fieldlab.connectors.base import ConnectorContext, SourceHealth
    from fieldlab.connectors.sparkplug.connector import Config as SpbConfig
    from fieldlab.connectors.sparkplug.connector import SparkplugHost
    from fieldlab.connectors.sparkplug.payload import encode

    host = SparkplugHost(
        SpbConfig.model_validate(
            {
                "type": "sparkplug",
                "machines": {
                    "m-1": {
                        "device": "G/n/d",
                        "metrics": {
                            "state": {"metric": "Status/State"},
                            "count_total": {"metric": "Counters/Total"},
                            "door_open": {"metric": "Door/Open"},
                        },
                    }
                },
            }
        )
    )

    emit = Sent()

    ctx = ConnectorContext("spb", emit, SourceHealth("spb", "sparkplug"), logging.getLogger("t"))
    got = []
    for msg in case["messages"]:
        metrics = [tuple(m[:4]) for m in msg["metrics"]]
        stamps = [m[4] if len(m) > 4 else None for m in msg["metrics"]]
        payload = encode(metrics, timestamp=msg["ts"], seq=msg.get("seq"))
        if any(stamps):  # per-metric times (historical metrics)
            from fieldlab.connectors.sparkplug.payload import Payload

            p = Payload()
            p.ParseFromString(payload)
            for m, t in zip(p.metrics, stamps, strict=True):
                if t is not None:
                    m.timestamp, m.is_historical = t, True
            payload = p.SerializeToString()
        samples, rejected = host.handle(msg["topic"], payload, ctx)
        assert not rejected, rejected
        got += [[s.ts, s.signal, s.value] for s in samples]
    assert got == case["samples"]
    counts = ctx.health.events
    for key, n in case.get("counts", {}).items():
        assert counts[key] == n, (key, counts)
    if "counts" in case and not case["counts"]:
        assert not counts


@pytest.mark.parametrize("case", cases("s7", "addresses"), ids=lambda c: c["address"])
def test_s7_address_cases(case: dict[str, Any]):
    from fieldlab.connectors.s7.address import decode as s7_decode
    from fieldlab.connectors.s7.address import encode as s7_encode
    from fieldlab.connectors.s7.address import parse_address

    addr = parse_address(case["address"])
    data = bytes.fromhex(case["bytes"])
    got = s7_decode(addr, data)
    assert got == pytest.approx(case["value"]) if isinstance(got, float) else got == case["value"]
    _stored_as(case, got)
    if addr.type not in ("BOOL", "STRING"):  # the simulator's face writes what the gateway reads
        assert s7_encode(addr, case["value"]) == data


def test_the_s7_planner_merges_neighbours_and_respects_the_pdu():
    from fieldlab.connectors.s7.address import parse_address
    from fieldlab.connectors.s7.planner import plan

    values = {
        k: parse_address(a)
        for k, a in {
            "a": "DB10.DBW0",
            "b": "DB10.DBD4:UDINT",
            "c": "DB10.DBX40.0",  # 32 bytes past b: its own read with max_gap 16
            "d": "DB11.DBW0",  # another DB: another read
            "e": "DB10.DBD50:REAL",
        }.items()
    }
    reads = plan(values, max_gap=16)
    assert [(r.db, r.start, r.size, [k for k, _ in r.keys]) for r in reads] == [
        (10, 0, 8, ["a", "b"]),
        (10, 40, 14, ["c", "e"]),
        (11, 0, 2, ["d"]),
    ]
    assert len(plan(values, max_gap=100, max_bytes=20)) == 3  # 0–53 does not fit in 20 bytes
    assert len(plan(values, max_gap=100, max_bytes=200)) == 2


@pytest.mark.parametrize("case", cases("opcua", "values"), ids=lambda c: c["signal"])
def test_opcua_value_cases(case: dict[str, Any]):
    node = {"node": "ns=2;s=x"}
    connector = OpcUaConnector(
        OpcUaConfig.model_validate(
            {
                "type": "opcua",
                "url": "opc.tcp://127.0.0.1:1/",
                "machines": {"m-1": {case["signal"]: node}},
            }
        )
    )

    def when(key: str) -> dt.datetime | None:
        ms = case.get(key)
        return None if ms is None else dt.datetime.fromtimestamp(ms / 1000, dt.UTC)

    dv = ua.DataValue(
        ua.Variant(case["value"]),
        StatusCode=ua.StatusCode(getattr(ua.StatusCodes, case.get("status", "Good"))),
        SourceTimestamp=when("source_ts"),
        ServerTimestamp=when("server_ts"),
    )
    samples: list = []
    rejected: list = []

    emit = Sent()

    ctx = ConnectorContext("t", emit, SourceHealth("t", "opcua"), logging.getLogger("t"))
    connector.convert(("m-1", case["signal"]), dv, samples, rejected, ctx)
    if "reason" in case:
        assert not samples and case["reason"] in rejected[0].reason
    else:
        assert not rejected, rejected
        assert [[s.ts, s.value] for s in samples] == [case["sample"]]
        assert [type(s.value) for s in samples] == [type(case["sample"][1])]


def test_the_gateway_owns_reconnect_backoff_health_and_offline_bookkeeping():
    """Connectors report events; the context counts them, writes `offline` once per gap and
    keeps the one backoff (growing while the source stays down, reset when it is back)."""
    import asyncio

    from fieldlab.connectors.base import Backoff, SourceState

    emit = Sent()
    batches = emit.batches
    health = SourceHealth("t", "modbus")
    ctx = ConnectorContext("t", emit, health, logging.getLogger("t"), backoff=Backoff(0.001, 0.004))

    async def scenario() -> list[float]:
        ctx.clock.observe(1_000)
        ctx.back(["m-1"])
        waits = []
        for _ in range(4):
            await ctx.failed(["m-1"], "link down")
            waits.append(await ctx.retry())
        ctx.back(["m-1"])
        await ctx.failed(["m-1"], "link down")
        waits.append(await ctx.retry())
        return waits

    waits = asyncio.run(scenario())
    assert waits == [0.001, 0.002, 0.004, 0.004, 0.001]
    assert health.reconnects == 2 and health.errors == 5
    assert health.state == SourceState.RECONNECTING
    offline = [s for b in batches for s in b.samples]
    assert [(s.machine, s.value) for s in offline] == [("m-1", "offline")] * 2  # once per gap
