"""domain.md §10: the same rejection again and again is kept once per source and reason per hour,
with a count, on both stores; the records still add up to every rejection."""

from __future__ import annotations

import asyncio
import logging

from hypothesis import given
from hypothesis import strategies as st

from fieldlab.connectors.base import ConnectorContext, SourceHealth
from fieldlab.domain.rejected import REPEAT_WINDOW_MS, Rejected, RejectionThrottle
from fieldlab.store.sqlite import SqliteStore

HOUR = REPEAT_WINDOW_MS


def _bit(n: int = 0) -> Rejected:
    return Rejected("s7:plc:DB10.DBX40.0", "False", "value: door_open must be a number", n)


def test_a_field_polled_five_times_a_second_is_one_record_an_hour_with_its_count():
    throttle = RejectionThrottle()
    kept = []
    for i in range(5 * 3600 * 2 + 1):  # two hours and one poll at 200 ms
        kept += throttle.keep([_bit(i * 200)], now=i * 200)
    kept += throttle.flush()
    assert len(kept) == 3
    assert [r.repeats for r in kept] == [0, 17_999, 17_999]
    assert sum(1 + r.repeats for r in kept) == 5 * 3600 * 2 + 1


def test_another_reason_or_source_is_its_own_record():
    throttle = RejectionThrottle()
    other_reason = Rejected(_bit().source, "x", "another reason")
    other_source = Rejected("s7:plc:DB10.DBW0", "x", _bit().reason)
    assert len(throttle.keep([_bit(), _bit(), other_reason, other_source], now=0)) == 3


@given(st.lists(st.tuples(st.integers(0, 3 * HOUR), st.sampled_from("abc")), max_size=60))
def test_the_records_always_add_up_to_every_rejection(events):
    throttle = RejectionThrottle()
    kept = []
    for now, reason in sorted(events):
        kept += throttle.keep([Rejected("src", "p", reason)], now=now)
    kept += throttle.flush()
    assert sum(1 + r.repeats for r in kept) == len(events)
    assert throttle.repeats == 0


def test_through_the_connector_context_into_sqlite_and_health(tmp_path):
    store = SqliteStore(tmp_path / "s.db")
    health = SourceHealth("plc", "s7")

    async def emit(samples, rejected, /, **meta) -> None:
        store.write_rejected(rejected)

    async def run() -> None:
        ctx = ConnectorContext("plc", emit, health, logging.getLogger("t"))
        for _ in range(1000):
            await ctx.send([], [_bit()])
        assert health.rejected == 1000 and health.rejected_repeats == 999
        assert len(store.rejected()) == 1
        await ctx.flush_rejected()

    asyncio.run(run())
    records = store.rejected()
    assert len(records) == 2 and sorted(r.repeats for r in records) == [0, 998]
    assert store.rejected_count() == 1000 and health.rejected_repeats == 0
    store.close()


def test_a_store_from_before_repeats_is_upgraded_and_read(tmp_path):
    import sqlite3

    path = tmp_path / "old.db"
    SqliteStore(path).close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 5")
    db.execute("ALTER TABLE rejected DROP COLUMN repeats")
    db.execute("DROP TABLE quality")
    db.execute("INSERT INTO rejected (received, source, payload, reason) VALUES (1, 's', 'p', 'r')")
    db.commit()
    db.close()
    ro = SqliteStore(path, readonly=True)
    assert ro.rejected_count() == 1 and ro.rejected()[0].repeats == 0
    ro.close()
    rw = SqliteStore(path)
    rw.write_rejected([Rejected("s", "p", "r", 2, repeats=4)])
    assert rw.rejected_count() == 6
    rw.close()
