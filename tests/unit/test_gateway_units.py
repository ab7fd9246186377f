"""Data-driven cases for the gateway's pure parts (each connector's own case files run in
tests/unit/test_connectors.py): Modbus
decoding in every type and byte order, the request planner, signal mapping, MQTT topic and
payload parsing, and the durable queue's caps."""

from __future__ import annotations

import contextlib
import sqlite3
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fieldlab.connectors.modbus.codec import decode, encode
from fieldlab.connectors.modbus.planner import FieldRef, plan
from fieldlab.connectors.mqtt.connector import Config as MqttConfig
from fieldlab.connectors.mqtt.connector import MqttConnector
from fieldlab.domain.samples import SampleError
from fieldlab.gateway.batch import Batch
from fieldlab.gateway.pool import PooledBatch
from fieldlab.mapping import Mapper, SignalMap
from fieldlab.sinks.queue import DurableQueue
from tests.helpers import Sent


@pytest.mark.parametrize(
    "dtype, value",
    [
        ("INT16", -2),
        ("UINT16", 65535),
        ("INT32", -123456),
        ("UINT32", 4_000_000_000),
        ("FLOAT32", 21.5),
        ("INT64", -(2**40)),
        ("UINT64", 2**63 + 5),
        ("FLOAT64", -1e-9),
    ],
)
@pytest.mark.parametrize("order", ["ABCD", "CDAB", "BADC", "DCBA"])
def test_every_type_round_trips_in_every_order(dtype, value, order):
    assert decode(encode(value, dtype, order), dtype, order) == pytest.approx(value)


def test_float32_cdab_like_an_energy_meter_and_strings_and_bits():
    hi, lo = struct.unpack(">HH", struct.pack(">f", 4.5))
    assert decode([lo, hi], "FLOAT32", "CDAB") == 4.5
    assert decode([0x4142, 0x4300], "STRING") == "ABC"
    assert decode([0x4241, 0x0043], "STRING", "BADC") == "ABC"
    assert decode([0b1010], "BIT", bit=1) is True and decode([0b1010], "BIT", bit=0) is False


def test_planner_merges_contiguous_fields_within_limits_and_gaps():
    fields = [FieldRef(f"f{i}", "holding", 2 * i, 2) for i in range(100)]  # 200 registers
    requests = plan(fields)
    assert [(r.address, r.count) for r in requests] == [(0, 124), (124, 76)]
    gap = plan([FieldRef("a", "holding", 0, 1), FieldRef("b", "holding", 20, 1)], max_gap=10)
    assert len(gap) == 2
    filled = plan([FieldRef("a", "holding", 0, 1), FieldRef("b", "holding", 8, 1)], max_gap=10)
    assert [(r.address, r.count) for r in filled] == [(0, 9)]
    bits = plan([FieldRef(f"c{i}", "coil", i, 1) for i in range(2500)])
    assert [r.count for r in bits] == [2000, 500]
    mixed = plan([FieldRef("h", "holding", 0, 1), FieldRef("i", "input", 0, 1)])
    assert {r.table for r in mixed} == {"holding", "input"}


@pytest.mark.parametrize(
    "spec, raw, expected",
    [
        ({"scale": 0.1, "offset": -40}, 650, [("temperature", 25.0)]),
        ({"preset": "packml"}, 6, [("state", "running")]),
        ({"preset": "packml"}, 9, [("state", "fault")]),
        ({"preset": "run_bit"}, True, [("state", "running")]),
        ({"map": {"1": "running", "2": "idle"}}, 2, [("state", "idle")]),
        ({"map": {"1": "running"}}, 7, [("state", "7")]),  # unmapped: kept as received, reported
    ],
)
def test_signal_maps(spec, raw, expected):
    signal = expected[0][0]
    got = Mapper().apply("m1", signal, raw, 1000, SignalMap.model_validate(spec))
    assert [(s.signal, s.value) for s in got] == expected


def test_unmapped_codes_are_reported_and_threshold_state_has_hysteresis():
    mapper = Mapper()
    mapper.apply("m1", "state", 7, 0, SignalMap(map={"1": "running"}))
    assert mapper.unmapped == {("m1", "state"): {"7"}}
    spec = SignalMap.model_validate({"derive_state": {"running_above": 2.0, "idle_below": 0.5}})
    states = []
    for kw in (0.2, 3.0, 1.0, 0.4, 1.0, 2.5):  # 1.0 sits in the band: the state holds
        states += [
            s.value for s in mapper.apply("m2", "power_kw", kw, 0, spec) if s.signal == "state"
        ]
    assert states == ["idle", "running", "idle", "running"]


def test_counter_values_must_be_whole_numbers():
    with pytest.raises(SampleError):
        Mapper().apply("m1", "count_total", -1, 0, None)


def mqtt(**cfg) -> MqttConnector:
    return MqttConnector(MqttConfig.model_validate({"type": "mqtt", **cfg}))


def test_mqtt_plain_payload_and_json_path():
    c = mqtt(topics=[{"template": "plant/{machine}/{signal}", "payload": "plain"}])
    assert [(s.machine, s.signal, s.value) for s in c.parse("plant/m1/temp", b" 21.5 ", 7)[0]] == [
        ("m1", "temp", 21.5)
    ]
    c = mqtt(topics=[{"template": "plant/{machine}/{signal}", "value": "data.v", "ts": "data.t"}])
    assert [
        (s.ts, s.value) for s in c.parse("plant/m1/temp", b'{"data": {"v": 3, "t": 42}}', 7)[0]
    ] == [(42, 3)]


def test_durable_queue_caps_count_every_dropped_point(tmp_path):
    q = DurableQueue(tmp_path / "q.db", max_bytes=1000)
    for _ in range(10):
        q.append(b"x" * 300, 10)  # 3,000 bytes offered, 1,000 allowed
    st = q.stats()
    assert st["queued_bytes"] <= 1000 and st["dropped_points"] == 100 - st["queued_points"]
    q2 = DurableQueue(tmp_path / "q2.db", max_bytes=1000, overflow="drop_newest")
    for _ in range(10):
        q2.append(b"y" * 300, 10)
    assert q2.stats()["queued_points"] == 30 and q2.stats()["dropped_points"] == 70
    first = q2.peek()
    q2.ack(first[0], first[2])
    assert q2.stats()["sent_points"] == 10 and q2.stats()["queued_points"] == 20
    q2.close()
    q3 = DurableQueue(tmp_path / "q2.db", max_bytes=1000)  # survives a restart
    assert q3.stats()["queued_points"] == 20 and q3.stats()["dropped_points"] == 70


def test_durable_queue_never_drops_the_batch_being_sent(tmp_path):
    """A write that failed here may have reached the server: the batch in flight stays until
    it is acknowledged, so a dropped point is a point that was never sent."""
    q = DurableQueue(tmp_path / "q.db", max_bytes=1000)
    q.append(b"a" * 300, 10)
    q.append(b"b" * 300, 10)
    inflight = q.peek()
    for _ in range(5):
        q.append(b"c" * 300, 10)
    assert q.peek()[1].startswith(b"a")  # still first, still there
    st = q.stats()
    assert st["dropped_points"] == 70 - st["queued_points"] and st["queued_bytes"] <= 1000
    q.ack(inflight[0], inflight[2])
    q.append(b"d" * 300, 10)  # now the oldest may go again
    assert not q.peek()[1].startswith(b"a")
    st = q.stats()
    assert st["sent_points"] + st["dropped_points"] + st["queued_points"] == 80


def test_a_combined_write_takes_whole_batches_and_none_of_them_is_dropped_while_it_is_out(
    tmp_path,
):
    """#32 item 2: the forwarder sends queued batches together (`peek_many`), as many as fit
    in one write and always the oldest; while that write is out, the caps drop none of them."""
    q = DurableQueue(tmp_path / "q.db", max_bytes=2000)
    q.append_many([(b"a" * 200, 10), (b"b" * 200, 10), (b"c" * 200, 10)])
    first, last, payload, points, batches, _ = q.peek_many(25)
    assert (points, batches) == (20, 2) and payload == b"a" * 200 + b"\n" + b"b" * 200
    for _ in range(10):
        q.append(b"d" * 200, 10)  # over the cap: the oldest not being sent go
    st = q.stats()
    assert st["queued_bytes"] <= 2000 + 400 and st["dropped_points"] == 130 - st["queued_points"]
    assert q.peek()[1].startswith(b"a")  # still first, still there
    q.ack_many(first, last, points)
    st = q.stats()
    assert st["sent_points"] == 20 and not q.peek()[1].startswith((b"a", b"b"))
    assert st["sent_points"] + st["dropped_points"] + st["queued_points"] == 130
    one = q.peek_many(5)  # a batch larger than a write still goes, alone
    assert one is not None and one[4] == 1 and one[3] == 10
    q.close()
    # and a write holds no more than a quarter of the cap, as one batch may: what the caps
    # cannot drop while it is out stays small, and overflow still drops the oldest
    small = DurableQueue(tmp_path / "small.db", max_bytes=1000)
    small.append_many([(b"e" * 200, 10)] * 3)
    assert small.peek_many(1000)[4] == 1
    small.close()


def test_a_write_of_several_batches_that_is_refused_goes_again_one_batch_at_a_time(tmp_path):
    """Only the batch with the fault is kept aside; the others are written (InfluxDB's write
    is idempotent, so the part of the refused write that landed costs nothing)."""
    import asyncio
    import logging

    from fieldlab.sinks.forward import Forwarder

    q = DurableQueue(tmp_path / "q.db")
    q.append_many([(b"good-1", 1), (b"bad", 1), (b"good-2", 1)])
    q.append(b"good-3", 1)
    writes: list[bytes] = []

    async def send(batch_id: int | None, payload: bytes, points: int) -> int | None:
        writes.append(payload)
        if b"bad" not in payload:
            return points
        if batch_id is None:
            return None  # several: refused as a whole
        q.ack(batch_id, 0)  # alone: kept aside (the sink counts it as rejected)
        return None

    async def run() -> None:
        fwd = Forwarder("t", q, send, "nowhere", logging.getLogger("t"), combine=100)
        task = asyncio.create_task(fwd.run())
        while q.stats()["queued_batches"]:
            await asyncio.sleep(0.01)
        task.cancel()

    asyncio.run(run())
    assert writes == [
        b"good-1\nbad\ngood-2\ngood-3",
        b"good-1",
        b"bad",
        b"good-2",
        b"good-3",
    ]
    q.close()


def test_influx_sink_keeps_the_newest_when_one_burst_exceeds_the_queue_cap(tmp_path):
    """A broker's backlog can arrive as one batch larger than the whole cap: the sink queues it
    in parts, so drop_oldest drops the oldest points, not the burst with the newest in it."""
    from fieldlab.domain.samples import Sample
    from fieldlab.sinks.influxdb import InfluxConfig, InfluxSink

    cfg = InfluxConfig.model_validate(
        {"api": "v1", "queue": {"path": str(tmp_path / "q.db"), "max_mb": 0.02}}
    )
    sink = InfluxSink(cfg)
    burst = [Sample(1772427600000 + i, "m1", "v", float(i)) for i in range(5000)]
    sink.accept(burst, [])
    st = sink.queue.stats()
    assert 0 < st["queued_points"] < 5000
    assert st["queued_points"] + st["dropped_points"] == 5000  # counted exactly
    last = b""
    while (item := sink.queue.peek()) is not None:
        last = item[1]
        sink.queue.ack(item[0], item[2])
    assert b"value=4999" in last  # the newest survived
    sink.close()


# -- contact returns, the state is now (domain.md §3) ------------------------------------------


def _stamped(guard, samples, **batch):  # type: ignore[no-untyped-def]

    return [(s.ts, s.signal) for s in guard.stamp(Batch(samples, **batch)).samples]


def test_contact_guard_writes_old_values_at_the_instant_contact_returned():
    """domain.md §3: values that changed inside the gap are written when contact returned; a
    value the source says last changed before the gap began held through it and is written at
    the `offline`'s instant, replacing it (a source with a clock of its own)."""
    from fieldlab.domain.samples import Sample
    from fieldlab.gateway.contact import ContactGuard

    g = ContactGuard(change_times={""})  # an OPC UA server: SourceTimestamps
    hour_old = Sample(1_000, "m", "state", "running")
    assert _stamped(g, [hour_old]) == [(1_000, "state")]  # no offline yet: as it is
    g.offline([Sample(5_000, "m", "state", "offline")])
    # Contact returns at the source's 9 s: the state an hour old held through the gap (at the
    # offline's 5 s), a value that changed inside the gap is written at 9 s; a newer one keeps
    # its time.
    got = _stamped(
        g,
        [hour_old, Sample(7_000, "m", "temp", 20.0), Sample(9_500, "m", "temp", 21.0)],
        now=9_000,
    )
    assert got == [(5_000, "state"), (9_000, "temp"), (9_500, "temp")]
    assert g.contact_at("m") == 9_000
    # Later batches: the same old value again is a re-delivery; a value older than contact
    # goes after its series' newest; newer as they are; other machines are untouched.
    assert _stamped(g, [Sample(2_000, "m", "state", "running")]) == []
    assert _stamped(g, [Sample(2_000, "m", "state", "idle")]) == [(5_001, "state")]
    assert _stamped(g, [Sample(10_000, "m", "state", "idle")]) == [(10_000, "state")]
    assert _stamped(g, [Sample(3, "other", "state", "idle")]) == [(3, "state")]
    # A source whose times are not change times (a retained MQTT message): never held
    mqtt = ContactGuard()
    mqtt.offline([Sample(5_000, "m", "state", "offline")])
    assert _stamped(mqtt, [hour_old], now=9_000) == [(9_000, "state")]


def test_contact_guard_a_gateway_stamped_value_never_holds_through_a_gap():
    """A source without a clock of its own: its values are stamped at the read, so one older
    than the `offline` means the gateway's clock is behind what it wrote (§9), not a value that
    held."""
    from fieldlab.domain.samples import Sample
    from fieldlab.gateway.contact import ContactGuard

    g = ContactGuard(gateway_clocked={"plc"})
    g.seed([Sample(4_000, "m", "count_total", 500_000), Sample(4_000, "m", "state", "running")])
    g.offline([Sample(5_000, "m", "state", "offline")])
    # the clock is behind: held back, nothing written into time already written
    first_poll = [
        Sample(3_000, "m", "count_total", 500_010),
        Sample(3_000, "m", "state", "running"),
    ]
    assert _stamped(g, first_poll, source="plc") == []
    assert _stamped(g, [Sample(4_500, "m", "count_total", 500_020)], source="plc") == []
    # its clock passes the offline: contact returns, the current values are written then
    got = g.stamp(Batch([Sample(6_000, "m", "temp", 20.0)], source="plc", now=6_000)).samples
    assert sorted((s.ts, s.signal, s.value) for s in got) == [
        (6_000, "count_total", 500_020),
        (6_000, "state", "running"),
        (6_000, "temp", 20.0),
    ]


def test_time_runs_forward_in_a_series():
    """domain.md §9: a live value not after its series' newest is written 1 ms after it and
    counted `clock_behind`; replays of a buffering source keep their time."""
    from fieldlab.domain.samples import Sample
    from fieldlab.gateway.contact import ContactGuard

    g = ContactGuard()
    counter = [Sample(t, "m", "count_total", v) for t, v in ((10, 5), (20, 6), (15, 7), (20, 8))]
    got = [(s.ts, s.value) for s in g.stamp(Batch(counter, source="s7")).samples]
    assert got == [(10, 5), (20, 6), (21, 7), (22, 8)]
    assert g.clocks["s7"].behind == 2
    assert _stamped(g, [Sample(1, "m", "count_total", 9)], keeps_time=True) == [(1, "count_total")]


def test_time_runs_forward_in_a_series_read_in_order_from_a_subscription():
    """§9 for MQTT read by one process (`in_order`): a publisher whose clock steps back writes
    1 ms after the newest, counted; what the broker re-sends and was written is dropped; a
    replay from the session older than a retained value written at contact keeps its time."""
    from fieldlab.domain.samples import Sample
    from fieldlab.gateway.contact import ContactGuard

    g = ContactGuard()
    live = {"keeps_time": True, "in_order": True, "source": "mqtt"}
    counter = [Sample(t, "m", "count_total", v) for t, v in ((10, 5), (20, 6), (15, 7), (12, 8))]
    got = [(s.ts, s.value) for s in g.stamp(Batch(counter, **live)).samples]
    assert got == [(10, 5), (20, 6), (21, 7), (22, 8)] and g.clocks["mqtt"].behind == 2
    # the same value at the same instant again, or re-sent by the broker: written before
    again = [Sample(22, "m", "count_total", 8), Sample(30, "m", "count_total", 9)]
    assert _stamped(g, again, **live) == [(30, "count_total")]
    resent = [Sample(21, "m", "count_total", 7), Sample(40, "m", "count_total", 10)]
    assert _stamped(g, resent, **live, resent=True) == [(40, "count_total")]
    # a reason entered for an earlier stop keeps its time (an event, not a value that holds)
    late_reason = [Sample(35, "m", "reason", "jam")]
    assert _stamped(g, late_reason, **live) == [(35, "reason")]
    # Sparkplug and a worker's share of $share keep their time as before (not in order)
    assert _stamped(g, [Sample(1, "m", "count_total", 11)], keeps_time=True) == [(1, "count_total")]
    # a retained value written at the instant contact returned is not the series' newest for
    # what the session replays from before it
    g.offline([Sample(100, "m", "state", "offline")])
    g.stamp(Batch([Sample(50, "m", "temp", 21.0)], source="mqtt", now=120))
    assert _stamped(g, [Sample(110, "m", "temp", 20.5)], **live) == [(110, "temp")]


@given(st.lists(st.integers(-5_000, 1_000), min_size=1, max_size=60), st.integers(1, 6))
def test_no_clock_makes_a_counter_read_in_order_go_back(steps, batch):
    """Whatever a publisher's clock does between readings, the counter stored in time order
    is the counter as read: no later reading looks older (a 'reset', phantom units, §4)."""
    from fieldlab.gateway.contact import ContactGuard

    g = ContactGuard()
    readings = _counter_read_in_order(g, 1_000_000, steps, batch)
    newest, behind = None, 0
    for r in readings:
        if newest is not None and r.ts <= newest:
            behind, newest = behind + 1, newest + 1
        else:
            newest = r.ts
    assert g.clocks["mqtt"].behind == behind


@given(
    st.lists(st.integers(-250_000, 250_000), min_size=1, max_size=40),
    st.integers(1, 5),
    st.integers(0, 3),
)
def test_no_clock_drifting_across_the_skew_limit_makes_a_counter_go_back(steps, batch, tick):
    """The same for a publisher whose clock wanders across `max_clock_skew_s`, ahead and
    behind, while the gateway's clock runs on: stamped by its own clock or by ours in turn, the
    counter in time order is the counter as read."""
    from fieldlab.gateway.contact import ContactGuard

    wall = [1_000_000.0]
    g = ContactGuard(max_skew_ms=300_000, wall=lambda: wall[0])
    _counter_read_in_order(g, int(wall[0] * 1000), steps, batch, wall, tick)


def _counter_read_in_order(g, t, steps, batch, wall=None, tick=0):  # type: ignore[no-untyped-def]
    """A counter published with the clock moving by ``steps`` between readings, read from one
    subscription in batches: stored, it is the counter as read in time order, no two readings
    at one instant. The readings as published."""
    from fieldlab.domain.samples import Sample

    readings = []
    for i, step in enumerate(steps):
        t += step
        readings.append(Sample(t, "m", "count_total", i))
    stored = []
    for k in range(0, len(readings), batch):
        part = readings[k : k + batch]
        stored += g.stamp(Batch(part, source="mqtt", keeps_time=True, in_order=True)).samples
        if wall is not None:
            wall[0] += tick
    in_time = sorted(stored, key=lambda s: s.ts)
    assert [s.value for s in in_time] == list(range(len(steps)))
    assert len({s.ts for s in stored}) == len(stored)
    return readings


def test_a_step_of_the_gateways_clock_is_a_gap_for_the_machines_it_stamps():
    from fieldlab.domain.samples import Sample
    from fieldlab.gateway.contact import ContactGuard

    g = ContactGuard(gateway_clocked={"plc"})
    g.stamp(
        Batch(
            [Sample(10_000, "m", "state", "running"), Sample(10_000, "m", "count_total", 7)],
            source="plc",
        )
    )
    g.stamp(Batch([Sample(10_000, "m", "reason", "jam")], source="plc"))
    # forward 20 min: offline 1 ms after the newest, the current values (no reason) at once
    offline, values = g.gap(["m"], now=1_210_000)
    assert [(s.ts, s.value) for s in offline] == [(10_001, "offline")]
    assert sorted((s.ts, s.signal, s.value) for s in values) == [
        (1_210_000, "count_total", 7),
        (1_210_000, "state", "running"),
    ]
    # back 20 min: offline after the newest; reads meanwhile are held back, not written
    offline, values = g.gap(["m"], now=10_000)
    assert [(s.ts, s.value) for s in offline] == [(1_210_001, "offline")] and values == []
    assert _stamped(g, [Sample(20_000, "m", "count_total", 9)], source="plc") == []
    assert g.release(1_210_001) == []  # not past it yet
    got = g.release(1_210_500)
    assert sorted((s.ts, s.signal, s.value) for s in got) == [
        (1_210_500, "count_total", 9),  # no unit lost: counted at that instant
        (1_210_500, "state", "running"),
    ]
    assert g.release(1_300_000) == []


def test_a_source_clock_an_hour_off_is_stamped_by_the_gateways_clock():
    from fieldlab.domain.samples import Sample
    from fieldlab.gateway.contact import ContactGuard

    wall = [1_000_000.0]
    g = ContactGuard(max_skew_ms=300_000, wall=lambda: wall[0])
    plc_now = int(wall[0] * 1000) + 3_600_000  # a PLC set to local time, summer
    got = g.stamp(
        Batch([Sample(plc_now - 5, "m", "state", "running")], source="plc", now=plc_now)
    ).samples
    assert [s.ts for s in got] == [int(wall[0] * 1000)]
    assert g.clocks["plc"].skewed and g.clocks["plc"].offset_ms == 3_600_000
    assert g.skew_changes == [("plc", True, 3_600_000)]
    # set right: at the next contact it agrees, and its own times are used again
    g.offline([Sample(int(wall[0] * 1000) + 1, "m", "state", "offline")])
    wall[0] += 10
    now = int(wall[0] * 1000)
    got = g.stamp(Batch([Sample(now - 3, "m", "temp", 1.0)], source="plc", now=now)).samples
    assert [s.ts for s in got] == [now] and not g.clocks["plc"].skewed
    assert g.skew_changes[-1] == ("plc", False, 0)


def test_a_publisher_clock_an_hour_ahead_is_seen_in_its_live_values_and_stamped_by_ours():
    """§9 for sources whose values keep their time (MQTT, Sparkplug): a PLC gateway that
    publishes local time as UTC is an hour ahead in every live message. No replay comes from
    the future, so that is a clock that is off: its values are written at the gateway's
    clock, in order, until one comes within the limit again. A backlog from far behind says
    nothing of the clock and keeps its time; a contact's estimated time cannot clear what the
    live values showed."""
    from fieldlab.domain.samples import Sample
    from fieldlab.gateway.contact import ContactGuard

    wall = [1_000_000.0]
    g = ContactGuard(max_skew_ms=300_000, wall=lambda: wall[0])
    live = {"keeps_time": True, "in_order": True, "source": "mqtt"}
    now = int(wall[0] * 1000)
    # a backlog an hour old (a persistent session): kept as it came, no skew said
    backlog = [Sample(now - 3_600_000 + i, "m", "count_total", i) for i in range(3)]
    assert _stamped(g, backlog, **live) == [(s.ts, "count_total") for s in backlog]
    assert not g.clocks["mqtt"].skewed and g.skew_changes == []
    # an hour ahead: said once, written at the gateway's clock, in order
    ahead = [Sample(now + 3_600_000 + i, "m", "count_total", 10 + i) for i in range(3)]
    got = g.stamp(Batch(ahead, **live)).samples
    assert [(s.ts, s.value) for s in got] == [(now, 10), (now + 1, 11), (now + 2, 12)]
    assert g.clocks["mqtt"].skewed and g.skew_changes == [("mqtt", True, 3_600_002)]
    # the retained values at a contact, with the time the connector estimates (the gateway's
    # own once the clock is off), do not clear it
    g.offline([Sample(now + 3, "m", "state", "offline")])
    wall[0] += 5
    now = int(wall[0] * 1000)
    g.stamp(Batch([Sample(now + 3_000_000, "m", "state", "running")], source="mqtt", now=now))
    assert g.clocks["mqtt"].skewed
    more = [Sample(now + 3_600_000, "m", "count_total", 13)]
    assert _stamped(g, more, **live) == [(now, "count_total")]
    # set right: its own times again, after what was written at ours
    wall[0] += 5
    now = int(wall[0] * 1000)
    right = [Sample(now - 20, "m", "count_total", 14), Sample(now - 10, "m", "count_total", 15)]
    assert _stamped(g, right, **live) == [(now - 20, "count_total"), (now - 10, "count_total")]
    assert not g.clocks["mqtt"].skewed and g.skew_changes[-1] == ("mqtt", False, -10)
    # a clock that drifts across the limit: what it wrote while it agreed (ahead of ours by up
    # to the limit) stays before what is written at ours, so a counter never looks reset
    drift = ContactGuard(max_skew_ms=300_000, wall=lambda: wall[0])
    now = int(wall[0] * 1000)
    near = [Sample(now + 200_000, "m", "count_total", 1)]
    far = [Sample(now + 400_000, "m", "count_total", 2)]
    assert _stamped(drift, near, **live) == [(now + 200_000, "count_total")]
    assert _stamped(drift, far, **live) == [(now + 200_001, "count_total")]
    # a Sparkplug edge node an hour ahead: its death is a gap at our instant, and what it sends
    # after its rebirth is written after it, not held back for the hour its clock is ahead
    spb = ContactGuard(change_times={"spb"}, max_skew_ms=300_000, wall=lambda: wall[0])
    now = int(wall[0] * 1000)
    death = [Sample(now + 3_600_000, "m", "state", "offline")]
    assert _stamped(spb, death, source="spb", keeps_time=True) == [(now, "state")]
    wall[0] += 2
    later = [Sample(now + 3_602_000, "m", "state", "running")]
    assert _stamped(spb, later, source="spb", keeps_time=True) == [(now + 2000, "state")]
    # without max_clock_skew_s (the simulators' own sites: a simulation at 60x runs ahead)
    free = ContactGuard(wall=lambda: wall[0])
    assert _stamped(free, ahead, **live) == [(s.ts, "count_total") for s in ahead]


def test_the_clock_watch_sees_steps_not_drift():
    from fieldlab.gateway.clock import ClockWatch

    t = {"wall": 1000.0, "mono": 5.0}
    w = ClockWatch(wall=lambda: t["wall"], mono=lambda: t["mono"])
    t["wall"] += 1.0005
    t["mono"] += 1.0
    assert w.check() is None  # NTP slewing
    t["wall"] -= 1200
    assert w.check() == pytest.approx(-1200.0, abs=0.01) and w.backward == 1
    t["wall"] += 1200.25
    t["mono"] += 0.25
    assert w.check() == pytest.approx(1200.0, abs=0.01) and w.forward == 1
    assert w.check() is None


def test_contact_guard_replays_keep_their_time_and_the_source_clock_never_goes_before_offline():
    from fieldlab.domain.samples import Sample
    from fieldlab.gateway.contact import ContactGuard

    g = ContactGuard()
    g.stamp(Batch([Sample(5_000, "m", "state", "offline")], gateway=True))
    replay = [Sample(4_000, "m", "temp", 1.0), Sample(6_000, "m", "state", "running")]
    assert _stamped(g, replay, keeps_time=True) == [(4_000, "temp"), (6_000, "state")]
    # A source whose clock has not moved past the offline (a paused simulator): the state read
    # lands on the offline's own instant and replaces it, it never goes before it.
    assert _stamped(g, [Sample(1_000, "m", "state", "running")], now=4_000) == [(5_000, "state")]
    # Without a `now`, the newest value of the machine in the batch stands for it.
    g.offline([Sample(20_000, "m", "state", "offline")])
    got = _stamped(g, [Sample(21_000, "m", "state", "idle"), Sample(25_000, "m", "temp", 2.0)])
    assert got == [(25_000, "state"), (25_000, "temp")]


def test_source_clock_ignores_values_stamped_with_their_last_change():
    from fieldlab.connectors.base import SourceClock

    c = SourceClock()
    c.observe(3_600_000, wall=100.0)  # the server's clock at contact
    c.observe(1_000, wall=100.0)  # a state unchanged for an hour: says nothing about now
    c.observe(3_603_000, wall=103.0)  # a live change 3 s later
    assert c.now(wall=105.0) == 3_605_000  # 1×, anchored on the live times only


def test_durable_queue_running_totals_match_the_table_through_any_operations(tmp_path):
    """The queue keeps its size running (O(1) appends however long an outage lasts); after
    any mix of appends, caps, sends, splits and a reopen, its totals are the table's sums."""
    import random

    def sums(q: DurableQueue) -> tuple[int, int, int]:
        """The queue's file read from outside, to check its running totals against."""
        with contextlib.closing(sqlite3.connect(path)) as db:
            row = db.execute(
                "SELECT count(*), coalesce(sum(points), 0), coalesce(sum(bytes), 0) FROM batches"
            ).fetchone()
        return int(row[0]), int(row[1]), int(row[2])

    rng = random.Random(7)
    path = tmp_path / "q.db"
    q = DurableQueue(path, max_bytes=20_000, max_age_s=3600)
    for step in range(400):
        op = rng.random()
        if op < 0.6:
            n = rng.randint(1, 40)
            q.append(b"x" * (n * 25), n)
        elif op < 0.8 and (item := q.peek()) is not None:
            q.ack(item[0], item[2])
        elif op < 0.9 and (item := q.peek()) is not None and item[2] > 1:
            half = len(item[1]) // 2
            q.replace(
                item[0], [(item[1][:half], item[2] // 2), (item[1][half:], item[2] - item[2] // 2)]
            )
        elif op < 0.95 and (head := q.peek_many(60)) is not None:
            assert head[3] <= 60 or head[4] == 1
            q.ack_many(head[0], head[1], head[3])
        elif op >= 0.97:
            q.close()
            q = DurableQueue(path, max_bytes=20_000, max_age_s=3600)
        st = q.stats()
        assert (st["queued_batches"], st["queued_points"], st["queued_bytes"]) == sums(q), step
        assert st["queued_bytes"] <= 20_000 + 40 * 25  # the cap, but for the batch in flight
    q.close()


@pytest.mark.parametrize(
    "item, mode, state",
    [
        ("Executing", "Processing", "running"),
        ("Executing", "Setup", "setup"),
        ("NotExecuting", "Processing", "idle"),
        ("NotExecuting", "Setup", "setup"),
        ("NotExecuting", "Maintenance", "planned_stop"),
        ("OutOfService", "Processing", "fault"),
        ("OutOfService", "Maintenance", "planned_stop"),
        ("NotAvailable", "None", "idle"),
        (3, 3, "running"),  # the StateNumbers instead of the names
        (1, 2, "fault"),
    ],
)
def test_machinery_item_state_and_operation_mode_make_the_state(item, mode, state):
    """OPC 40001-1: the two state machines together, whichever changes first; the mode is also
    kept as a number of its own signal; an unknown item state is kept as received."""
    from fieldlab.mapping import Mapper, SignalMap

    m = Mapper()
    item_map = SignalMap(preset="machinery_item_state")
    mode_map = SignalMap(preset="machinery_operation_mode")
    first = m.apply("m1", "operation_mode", mode, 1000, mode_map)
    assert [s.signal for s in first] == ["operation_mode"]  # no state before the item state
    got = m.apply("m1", "state", item, 2000, item_map)
    assert [(s.signal, s.value) for s in got] == [("state", state)]
    again = m.apply("m1", "state", item, 3000, item_map)
    assert again == []  # unchanged: no new state sample
    odd = m.apply("m2", "state", "Exploding", 1000, item_map)
    assert [(s.signal, s.value) for s in odd] == [("state", "Exploding")]
    assert m.unmapped[("m2", "state")] == {"Exploding"}


def test_the_gateway_thins_process_values_older_than_the_retention_at_start(tmp_path):
    """`retention: {process_values_raw_days: 1}`: a gateway started over a store with two-day-old
    1 Hz values thins them to a mean a minute (SqliteStore.thin, tests/unit/test_store_sqlite.py)
    and keeps today's as read."""
    import asyncio
    import time

    from fieldlab.domain.samples import Sample
    from fieldlab.gateway.config import parse_gateway_config
    from fieldlab.gateway.run import Gateway
    from fieldlab.store import SqliteStore

    now = int(time.time() * 1000)
    now -= now % 60_000
    old, new = now - 2 * 86_400_000, now - 3_600_000
    with SqliteStore(tmp_path / "gw.db") as store:
        store.write(
            [
                Sample(t + k * 1000, "press-1", "temp_c", float(k))
                for t in (old, new)
                for k in range(120)
            ]
        )
    site, cfg = parse_gateway_config(
        "store: sqlite:///gw.db\nretention: {process_values_raw_days: 1}\n"
        "gateway: {http: {port: 0}}\n"
    )
    gw = Gateway(site, cfg, tmp_path)

    async def run() -> None:
        task = asyncio.create_task(gw.run())
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            with SqliteStore(tmp_path / "gw.db", readonly=True) as s:
                if len(s.read("press-1", "temp_c", old, old + 120_000).ts) == 2:
                    break
        gw.request_stop()
        await task

    asyncio.run(run())
    with SqliteStore(tmp_path / "gw.db", readonly=True) as s:
        thinned = s.read("press-1", "temp_c", old, old + 180_000)
        assert thinned.values.tolist() == [29.5, 89.5, 119]  # a mean a minute, then the last
        assert len(s.read("press-1", "temp_c", new, new + 120_000).ts) == 121  # + the carry


def test_the_pipeline_writes_a_workers_columns_as_they_are_unless_something_needs_samples(
    tmp_path,
):
    """Packed batches (domain/packed.py) reach a store that takes columns without a `Sample`
    apiece; an alert rule (a watcher) or a sink that takes only `Sample`s gets them built."""
    import asyncio

    from fieldlab.domain.packed import Packed
    from fieldlab.domain.samples import Sample
    from fieldlab.gateway.pipeline import Pipeline
    from fieldlab.sinks.sqlite import SqliteSink
    from fieldlab.store import SqliteStore

    rows = [Sample(1_000 + i, f"m{i % 2}", "v", i) for i in range(10)]

    class SamplesOnly:  # a sink with `accept` only, as the InfluxDB and UNS sinks are
        name = "samples-only"

        def __init__(self) -> None:
            self.got: list[Sample] = []

        def accept(self, samples, rejected):
            self.got += samples

    async def run(sinks, watchers):
        pipeline = Pipeline(sinks)
        pipeline.watchers += watchers
        committed = []
        batch = PooledBatch(
            [rows[0]], packed=Packed.of(rows[1:]), on_commit=lambda: committed.append(1)
        )
        assert batch.count == 10
        await pipeline.emit(batch)
        task = asyncio.create_task(pipeline.run())
        while not committed:
            await asyncio.sleep(0.01)
        task.cancel()
        return pipeline, batch

    for watched in (False, True):
        seen: list[Sample] = []
        with SqliteStore(tmp_path / f"{watched}.db") as store:
            watchers = [seen.extend] if watched else []
            pipeline, batch = asyncio.run(run([SqliteSink(store)], watchers))
            got = store._db.execute("SELECT count(*) FROM samples").fetchone()[0]
        assert got == 10 and pipeline.stats.samples == 10
        assert pipeline.stats.by_source == {"": 10}
        assert seen == (rows if watched else [])
        assert (batch.packed is None) == watched  # built only when a watcher needs them
    other = SamplesOnly()
    with SqliteStore(tmp_path / "both.db") as store:
        asyncio.run(run([SqliteSink(store), other], []))
    assert other.got == rows


def test_the_pipeline_skips_a_held_batch_for_the_sinks_its_worker_queued_it_for(tmp_path):
    """A worker that queued its live samples for InfluxDB itself (`PooledBatch.queued`): the
    gateway's InfluxDB sink skips that batch, the local store writes it (in columns) as any
    other."""
    import asyncio

    from fieldlab.domain.packed import Packed
    from fieldlab.domain.samples import Sample
    from fieldlab.gateway.pipeline import Pipeline
    from fieldlab.sinks.sqlite import SqliteSink
    from fieldlab.store import SqliteStore

    class Influx:  # a sink with `accept` only, named as the workers' held sink
        name = "influxdb"

        def __init__(self) -> None:
            self.got: list[Sample] = []

        def accept(self, samples, rejected):
            self.got += samples

    held_rows = [Sample(1_000 + i, "m1", "v", i) for i in range(5)]
    own_rows = [Sample(2_000, "m1", "state", "offline")]

    async def run(pipeline):
        committed = []
        held = PooledBatch([], packed=Packed.of(held_rows), queued=frozenset({"influxdb"}))
        own = Batch(own_rows, on_commit=lambda: committed.append(1))
        for b in (held, own):
            await pipeline.emit(b)
        task = asyncio.create_task(pipeline.run())
        while not committed:
            await asyncio.sleep(0.01)
        task.cancel()
        return held

    influx = Influx()
    with SqliteStore(tmp_path / "s.db") as store:
        pipeline = Pipeline([SqliteSink(store), influx])
        held = asyncio.run(run(pipeline))
        assert store._db.execute("SELECT count(*) FROM samples").fetchone()[0] == 6
    assert influx.got == own_rows and pipeline.stats.samples == 6
    assert held.packed is not None  # the store took it in columns: no Sample was built for it


def test_worker_queues_are_taken_in_newest_always_and_whole_once_their_worker_is_gone(tmp_path):
    """Each gateway worker queues for InfluxDB in a file of its own: at start the gateway's
    sink takes in every file's newest (to close gaps) and the whole of a file whose worker no
    longer runs (`workers` made smaller), so nothing queued is left behind or sent twice."""
    from fieldlab.domain.rejected import Rejected
    from fieldlab.domain.samples import Sample
    from fieldlab.sinks.forward import combined
    from fieldlab.sinks.influxdb import InfluxConfig, InfluxSink

    cfg = InfluxConfig.model_validate(
        {"api": "v1", "url": "http://127.0.0.1:9", "queue": {"path": "q.db", "max_mb": 3}}
    )
    gw = InfluxSink(cfg, tmp_path, workers=2)
    workers = [InfluxSink(InfluxConfig.model_validate(gw.for_worker(k))) for k in (0, 1)]
    assert [w.queue.path.name for w in workers] == ["q-w0.db", "q-w1.db"]
    assert {gw.queue.max_bytes, *(w.queue.max_bytes for w in workers)} == {2**20}  # 3 MB / 3
    workers[0].accept([Sample(1000, "m1", "state", "running"), Sample(1500, "m1", "v", 1.0)], [])
    workers[1].accept([Sample(2000, "m2", "v", 2.0)], [Rejected("mqtt:t", "x", "why")])
    for s in (gw, *workers):
        s.close()

    gw = InfluxSink(cfg, tmp_path, workers=2)  # the same two workers again: newest only
    assert gw.newest() == {"m1": (1500, 1000, "running"), "m2": (2000, None, None)}
    assert gw.stats()["queued_points"] == 0
    gw.close()
    gw = InfluxSink(cfg, tmp_path, workers=1)  # worker 1 is gone: its file is taken in whole
    assert gw.stats()["queued_points"] == 2  # its sample and its rejected payload
    assert not (tmp_path / "q-w1.db").exists() and (tmp_path / "q-w0.db").exists()
    gw.close()
    gw = InfluxSink(cfg, tmp_path)  # one process: every worker file taken in
    payloads = []
    while (item := gw.queue.peek()) is not None:
        payloads.append(item[1])
        gw.queue.ack(item[0], item[2])
    assert len(payloads) == 3 and b"1500" in payloads[2] and b"_rejected" in payloads[0]
    assert gw.stats()["sent_points"] == 4 and not list(tmp_path.glob("q-w*"))
    gw.close()

    up, down = {"queued_points": 0.0, "up": 1.0}, {"queued_points": 5.0, "up": 0.0}
    idle = {"queued_points": 0.0, "up": 0.0, "oldest_age_s": 3.0}
    assert combined([up, idle]) == {"queued_points": 0.0, "up": 1.0, "oldest_age_s": 3.0}
    assert combined([up, down, idle])["up"] == 0.0


def test_a_sparkplug_birth_older_than_a_gap_held_through_it():
    """domain.md §3 for Sparkplug: data keeps its time, but a birth states the values as they
    stand, each with the time it was last set; after the node's death (its own `offline`) a
    rebirth whose state was set before the death held through the gap."""
    from fieldlab.domain.samples import Sample
    from fieldlab.gateway.contact import ContactGuard

    g = ContactGuard(change_times={"spb"})
    data = [Sample(1_000, "m", "state", "running"), Sample(5_000, "m", "state", "offline")]
    assert _stamped(g, data, source="spb", keeps_time=True) == [(1_000, "state"), (5_000, "state")]
    birth = [Sample(1_000, "m", "state", "running"), Sample(9_000, "m", "count_total", 7)]
    assert _stamped(g, birth, source="spb") == [(5_000, "state"), (9_000, "count_total")]


def test_the_sparkplug_host_sends_births_through_the_contact_rules_and_data_as_it_is():
    import asyncio
    import logging

    import paho.mqtt.client as mqtt

    from fieldlab.connectors.base import ConnectorContext, SourceHealth
    from fieldlab.connectors.sparkplug.connector import Config as SpbConfig
    from fieldlab.connectors.sparkplug.connector import SparkplugHost
    from fieldlab.connectors.sparkplug.payload import encode

    host = SparkplugHost(
        SpbConfig.model_validate(
            {
                "type": "sparkplug",
                "machines": {
                    "m-1": {"device": "G/n/d", "metrics": {"state": {"metric": "Status/State"}}}
                },
            }
        )
    )
    emit = Sent()
    sent = emit.batches
    ctx = ConnectorContext("spb", emit, SourceHealth("spb", "sparkplug"), logging.getLogger("t"))
    acked: list[int] = []

    def message(topic: str, payload: bytes) -> mqtt.MQTTMessage:
        m = mqtt.MQTTMessage(topic=topic.encode())
        m.payload = payload
        return m

    msgs = [
        message("spBv1.0/G/NBIRTH/n", encode([("bdSeq", None, 8, 0)], timestamp=1000, seq=0)),
        message(
            "spBv1.0/G/DBIRTH/n/d",
            encode([("Status/State", 1, 12, "running")], timestamp=1000, seq=1),
        ),
        message("spBv1.0/G/DDATA/n/d", encode([(None, 1, 12, "idle")], timestamp=2000, seq=2)),
    ]
    asyncio.run(host.received(ctx, msgs, lambda: acked.append(1)))
    assert [(b.keeps_time, [(s.ts, s.value) for s in b.samples]) for b in sent] == [
        (False, [(1000, "running")]),
        (True, [(2000, "idle")]),
    ]
    assert sent[-1].on_commit is not None and sent[0].on_commit is None
