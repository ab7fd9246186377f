"""The store contract, passed by every store: SQLite, a real InfluxDB 1.x (Debian's 1.6, always
in CI) and InfluxDB 2.x/3.x when a server is given by environment variables:

    FIELDLAB_TEST_INFLUXDB2_URL=http://127.0.0.1:8086 FIELDLAB_TEST_INFLUXDB2_TOKEN=… \\
    FIELDLAB_TEST_INFLUXDB2_ORG=fieldlab make test

(the compose stack in docker-compose.yml gives one; see the README). Without them the
InfluxDB 2 cases say so and skip: no such server can be installed on the CI machines.
"""

from __future__ import annotations

import pytest

from fieldlab.config import parse_site_config
from fieldlab.domain.rejected import Rejected
from fieldlab.domain.samples import Sample
from fieldlab.kpi.query import store_oee
from fieldlab.simulators.synthetic import Profile, synthetic_samples
from fieldlab.store import SqliteStore, open_store
from tests.conftest import influx_target
from tests.helpers import local


@pytest.fixture(params=["sqlite", "influxdb1", "influxdb2"])
def store(request, tmp_path):
    """The same contract for the embedded store and for InfluxDB 1.6 and 2.x/3.x (a fresh
    database or bucket)."""
    if request.param == "sqlite":
        s = SqliteStore(tmp_path / "f.db")
        yield s
        s.close()
    else:
        with influx_target(request.param, request) as target:
            yield open_store(target.store_url)


def S(ts: int, signal: str = "state", value: object = "running", machine: str = "press-1"):
    return Sample(ts, machine, signal, value)  # type: ignore[arg-type]


def test_read_returns_the_range_plus_the_last_sample_before_it(store):
    store.write([S(10, value="idle"), S(20, value="fault"), S(30), S(40, value="idle")])
    got = store.read("press-1", "state", 25, 40)
    assert got.ts.tolist() == [20, 30]
    assert got.values.tolist() == ["fault", "running"]
    assert len(store.read("press-1", "state", 0, 5)) == 0
    assert len(store.read("press-1", "nothing", 0, 100)) == 0
    assert store.read("other", "state", 0, 100).ts.tolist() == []


def test_writing_the_same_sample_again_changes_nothing(store):
    batch = [S(i, "count_total", i) for i in range(100)]
    store.write(batch)
    store.write(batch)
    got = store.read("press-1", "count_total", 0, 1000)
    assert got.ts.tolist() == list(range(100))
    assert got.values.tolist() == list(range(100))


def test_values_keep_their_types(store):
    store.write(
        [
            S(1, "count_total", 7),
            S(1, "temperature", 21.5),
            S(1, "product", "A-100"),
            S(2, "temperature", 21),
            # text that looks like a number, quotes and accents: SQLite takes rows as JSON
            S(2, "product", "007"),
            S(3, "product", 'Ünit "A"\\n'),
            S(2, "count_total", 2**53 + 1),
        ]
    )
    assert store.read("press-1", "count_total", 0, 9).values.tolist() == [7, 2**53 + 1]
    assert store.read("press-1", "temperature", 0, 9).values.tolist() == [21.5, 21.0]
    assert store.read("press-1", "product", 0, 9).values.tolist() == ["A-100", "007", 'Ünit "A"\\n']


def test_a_state_runs_since_the_first_sample_of_its_run(store):
    """domain.md §3: "in its state since" the first of the current run of equal states, through
    a gap closed and a value held through it (the same state written again)."""
    m = "press-1"
    store.write(
        [
            Sample(1000, m, "state", "idle"),
            Sample(2000, m, "state", "running"),
            Sample(3000, m, "state", "running"),  # held through a gap: the same state again
            Sample(4000, m, "state", "running"),
            Sample(1000, "lathe-1", "state", "fault"),
            Sample(1500, "lathe-1", "count_total", 7),
        ]
    )
    assert store.run_start(m, "state") == 2000
    assert store.run_start("lathe-1", "state") == 1000  # one sample: since its first
    assert store.run_start("lathe-1", "count_total") == 1500
    assert store.run_start("nobody", "state") is None
    store.write([Sample(5000, m, "state", "idle")])
    assert store.run_start(m, "state") == 5000


def test_latest_value_per_signal_machines_signals_and_newest_ts(store):
    assert store.newest_ts() is None
    store.write(
        [
            S(50, value="fault"),
            S(10, value="idle"),
            S(5, "count_total", 3),
            S(7, "state", "idle", machine="cnc-1"),
        ]
    )
    latest = {s.signal: (s.ts, s.value) for s in store.latest("press-1")}
    assert latest == {"state": (50, "fault"), "count_total": (5, 3)}
    assert len(store.latest()) == 3
    assert store.newest_ts() == 50
    assert store.machines() == ["cnc-1", "press-1"]
    assert store.signals("press-1") == ["count_total", "state"]


def test_rejected_records_are_kept_with_their_reason_and_truncated(store):
    store.write_rejected(
        [
            Rejected("mqtt:x", '{"bad', "not valid JSON", 1000),
            Rejected("mqtt:y", "x" * 10_000, "too long", 2000),
        ]
    )
    assert store.rejected_count() == 2
    newest, oldest = store.rejected()
    assert (oldest.source, oldest.payload, oldest.reason) == ("mqtt:x", '{"bad', "not valid JSON")
    assert len(newest.payload) < 2100 and newest.payload.endswith("(10000 chars)")
    assert (oldest.repeats, newest.repeats) == (0, 0)


def test_clock_steps_and_skews_are_kept_in_order(store):
    """domain.md §9: the data-quality records of time itself."""
    from fieldlab.domain.quality import QualityEvent

    events = [
        QualityEvent(1000, "gateway", "clock_step", -1200.0),
        QualityEvent(1000, "gateway", "clock_step", 1200.0),
        QualityEvent(5000, "plc", "clock_skew", 3600.5),
    ]
    assert store.write_quality(events) == 3
    assert store.quality(0, 10_000) == events
    assert store.quality(2000, 10_000) == events[2:]
    assert "plc" not in store.machines() and "gateway" not in store.machines()


def test_a_repeated_rejection_counts_its_repeats(store):
    """domain.md §10: a record stands for itself and the repeats it carries."""
    store.write_rejected([Rejected("s7:plc:DB10.DBX40.0", "False", "must be a number", 1000)])
    store.write_rejected(
        [Rejected("s7:plc:DB10.DBX40.0", "False", "must be a number", 3_601_000, repeats=17_999)]
    )
    assert store.rejected_count() == 18_001
    assert [r.repeats for r in store.rejected()] == [17_999, 0]


SITE = """
calendar:
  shifts: [{days: [mon, tue, wed, thu, fri], start: "06:00", end: "14:00"}]
  breaks: [{days: [mon, tue, wed, thu, fri], start: "10:00", end: "10:30"}]
machines:
  press-1: {ideal_cycle_time_s: 20, products: {A: {ideal_cycle_time_s: 15}}}
"""


def test_oee_from_the_store_is_the_same_on_every_store(store, tmp_path):
    site = parse_site_config(SITE)
    start, end = local("2026-03-02 00:00"), local("2026-03-04 00:00")
    samples = synthetic_samples("press-1", Profile(20, products=("A", "B")), start, end, 3)
    store.write(samples)
    with SqliteStore(tmp_path / "ref.db") as ref:
        ref.write(samples)
        for a, b in (
            ("2026-03-02 06:00", "2026-03-02 14:00"),
            ("2026-03-02 09:17", "2026-03-03 12:00"),
        ):
            lo, hi = local(a), local(b)
            got = store_oee(store, site, "press-1", lo, hi, now=end)
            want = store_oee(ref, site, "press-1", lo, hi, now=end)
            assert (got.planned_s, got.run_s, got.downtime_s, got.small_stop_s) == (
                want.planned_s,
                want.run_s,
                want.downtime_s,
                want.small_stop_s,
            )
            assert (got.total, got.good, got.scrap, got.ideal_s) == (
                want.total,
                want.good,
                want.scrap,
                want.ideal_s,
            )
            assert got.reasons == want.reasons and got.oee == want.oee


def _forwarded(sink, feed=None, timeout: float = 20) -> dict:  # type: ignore[no-untyped-def]
    """Run the sink's forwarder (with ``feed``, an async function that accepts batches
    meanwhile) until its queue is empty; its numbers then, the sink closed."""
    import asyncio

    async def run() -> None:
        task = asyncio.create_task(sink.run())
        if feed is not None:
            await feed()
        async with asyncio.timeout(timeout):
            while sink.stats()["queued_points"]:
                await asyncio.sleep(0.05)
        task.cancel()

    asyncio.run(run())
    stats = sink.stats()
    sink.close()
    return stats


def test_gateway_sink_writes_through_its_queue_to_influxdb(tmp_path, influx):
    """The gateway's InfluxDB sink (v1 HTTP, v2 influxdb-client's write API) through its durable
    queue into a real InfluxDB 1.6 and 2.x/3.x, read back by the store."""
    from fieldlab.sinks.influxdb import InfluxConfig, InfluxSink

    sink = InfluxSink(
        InfluxConfig.model_validate({**influx.sink, "queue": {"path": str(tmp_path / "q.db")}})
    )
    sink.accept([S(1000 + i, "count_total", i) for i in range(500)], [])
    assert _forwarded(sink, timeout=10)["sent_points"] == 500
    assert len(open_store(influx.store_url).read("press-1", "count_total", 0, 10**13)) == 500


def test_the_sink_writes_many_queued_batches_at_once_and_keeps_a_refused_one_aside(
    tmp_path, influx1
):
    """#32 item 2, on a real InfluxDB 1.6: forty committed batches of 25 points go out as one
    write; when the server refuses it (one batch has a field type conflict: a partial write,
    HTTP 400) they go again one by one, and only that batch is kept aside, its 25 points
    counted as rejected, every other point there."""
    from urllib.request import Request, urlopen

    from fieldlab.sinks.influxdb import InfluxConfig, InfluxSink

    port = int(influx1.sink["url"].rsplit(":", 1)[1])
    db = influx1.sink["database"]
    # `temp` already holds a string field in this shard: float points of it conflict
    urlopen(
        Request(
            f"http://127.0.0.1:{port}/write?db={db}&precision=ms",
            data=b'temp,machine=other value="hot" 999',
            method="POST",
        ),
        timeout=10,
    ).read()
    sink = InfluxSink(
        InfluxConfig.model_validate({**influx1.sink, "queue": {"path": str(tmp_path / "q.db")}})
    )
    for b in range(40):
        signal = "temp" if b == 17 else "count_total"
        sink.accept([S(1000 + b * 25 + i, signal, b * 25 + i) for i in range(25)], [])
    st = _forwarded(sink)
    assert st["sent_points"] == 975 and st["rejected_points"] == 25, st
    # the combined write refused, then its 39 good batches one by one
    assert st["writes"] == 39, st
    stored = open_store(influx1.store_url).read("press-1", "count_total", 0, 10**13)
    assert len(stored) == 975


def test_a_live_stream_into_the_sink_makes_a_few_writes_not_one_per_batch(tmp_path, influx1):
    """Batches committed 20 ms apart (a live stream) go out together after `flush_ms`."""
    import asyncio

    from fieldlab.sinks.influxdb import InfluxConfig, InfluxSink

    sink = InfluxSink(
        InfluxConfig.model_validate(
            {**influx1.sink, "flush_ms": 200, "queue": {"path": str(tmp_path / "q.db")}}
        )
    )

    async def stream() -> None:
        for b in range(50):  # a second of batches, 20 ms apart
            sink.accept([S(1000 + b * 10 + i, "count_total", b * 10 + i) for i in range(10)], [])
            await asyncio.sleep(0.02)

    st = _forwarded(sink, stream)
    assert st["sent_points"] == 500 and 2 <= st["writes"] <= 12, st


def test_hand_entries_keep_who_and_that_they_were_manual(store):
    from fieldlab.domain.entries import Entry

    assert store.entries() == []
    first = Entry(1000, "press-1", "reason", "tool_break", "anna", 5000)
    second = Entry(2000, "cnc-1", "reason", 'jam, "gripper"', "piet de Vries", 6000)
    assert store.write_entries([first, second]) == 2
    assert store.entries() == [second, first]  # newest first
    assert store.entries("press-1") == [first]
    note = Entry(3000, "press-1", "handover", "nieuwe beitel in la 3", "piet de Vries", 7000)
    store.write_entries([note])
    assert store.entries(signal="handover") == [note]
    assert store.entries("press-1", signal="reason") == [first]
    assert store.entries(limit=1) == [note]
    # an alert's answer (#29): JSON with quotes and a comma in a field, read back whole
    from fieldlab.domain.answers import AlertAnswer, latest_answers

    ack = AlertAnswer("lang-stil", "press-1", 900, "anna", 8000, 'monteur "Kees", 10 min')
    store.write_entries([ack.entry()])
    assert latest_answers(store.entries(signal="alert_ack")) == {("lang-stil", "press-1"): ack}
    assert first.source == "manual"
    # the kit's own records are not machine signals: latest() shows none of them
    store.write([S(1000, "reason", "tool_break")])
    assert {s.signal for s in store.latest()} == {"reason"}


def test_alert_events_come_back_in_time_order_and_are_not_signals(store):
    from fieldlab.domain.alerts import AlertEvent

    assert store.alerts(0, 10**13) == []
    fired = AlertEvent(60_000, "lange-stop", "press-1", "fired", "stop", 0, "fault")
    cleared = AlertEvent(90_000, "lange-stop", "press-1", "cleared", "stop", 0, "fault")
    oee = AlertEvent(80_000, "oee, laag", "cnc 1", "fired", "oee_below", 80_000, "", 0.512)
    assert store.write_alerts([fired, cleared, oee]) == 3
    assert store.alerts(0, 10**13) == [fired, oee, cleared]
    assert store.alerts(70_000, 90_000) == [oee]
    store.write([S(1000)])
    assert {s.signal for s in store.latest()} == {"state"}


def test_workshop_answers_are_kept_per_run_in_order_and_are_not_signals(store):
    from fieldlab.domain.learning import Attempt

    assert store.attempts("eerste-stap@1") == []
    wrong = Attempt(5_000, "eerste-stap@1", "Anne de Vries", "a-4h", "55", "wrong")
    right = Attempt(9_000, "eerste-stap@1", "Anne de Vries", "a-4h", "70,3", "right", hint=True)
    other = Attempt(7_000, "eerste-stap@1", 'Bram "B"', "top-reason", "misfeed", "right")
    later_run = Attempt(6_000, "eerste-stap@2", "Anne de Vries", "a-4h", "70", "right")
    assert store.write_attempts([wrong, right, other, later_run]) == 4
    assert store.attempts("eerste-stap@1") == [wrong, other, right]
    assert store.attempts("eerste-stap@2") == [later_run]
    store.write([S(1000)])
    assert {s.signal for s in store.latest()} == {"state"}
