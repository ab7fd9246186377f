"""The SQLite store beyond the contract: atomic batches, schema versioning, URLs, and one
writer with several reader processes. The contract itself: test_store_contract.py."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldlab.domain.samples import Sample
from fieldlab.store import SqliteStore, StoreError, open_store
from fieldlab.store.sqlite import SCHEMA_VERSION


@pytest.fixture
def store(tmp_path):
    s = SqliteStore(tmp_path / "f.db")
    yield s
    s.close()


def S(ts: int, signal: str = "state", value: object = "running", machine: str = "press-1"):
    return Sample(ts, machine, signal, value)  # type: ignore[arg-type]


def test_a_failed_batch_writes_nothing(store):
    class Boom:
        def __conform__(self, protocol):  # sqlite3 cannot store this value
            raise ValueError("boom")

    with pytest.raises(Exception):  # noqa: B017
        store.write([S(1), Sample(2, "press-1", "x", Boom())])  # type: ignore[arg-type]
    assert store.machines() == []
    store.write([S(3)])
    assert store.read("press-1", "state", 0, 9).ts.tolist() == [3]


def test_schema_version_is_recorded_and_a_newer_one_is_refused(tmp_path):
    path = tmp_path / "f.db"
    SqliteStore(path).close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="newer than this fieldlab-kit"):
        SqliteStore(path)


def test_an_empty_database_is_migrated_to_the_current_schema(tmp_path):
    path = tmp_path / "old.db"
    sqlite3.connect(path).close()  # version 0: an empty file
    with SqliteStore(path) as s:
        assert s.schema_version() == SCHEMA_VERSION
        s.write([S(1)])


def test_readers_get_a_clear_error_for_a_missing_or_foreign_store(tmp_path):
    with pytest.raises(StoreError, match="no store here yet"):
        SqliteStore(tmp_path / "missing.db", readonly=True)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="not a usable SQLite store"):
        SqliteStore(junk)
    with pytest.raises(StoreError, match="unknown kind 'postgres'"):
        open_store("postgres://x")


def test_store_urls_resolve_relative_to_the_config_folder(tmp_path):
    s = open_store("sqlite:///sub/f.db", base_dir=tmp_path)
    s.close()
    assert (tmp_path / "sub" / "f.db").exists()
    s = open_store(f"sqlite:///{tmp_path}/abs.db")
    s.close()
    assert (tmp_path / "abs.db").exists()


def test_one_writer_and_several_reader_processes_at_once(tmp_path):
    """A writer process commits batches while two reader processes read in a loop: no
    'database is locked', and every reader only ever sees whole batches."""
    path = tmp_path / "shared.db"
    SqliteStore(path).close()
    writer = textwrap.dedent(f"""
        from fieldlab.domain.samples import Sample
        from fieldlab.store import SqliteStore
        s = SqliteStore({str(path)!r})
        for b in range(200):
            s.write([Sample(b * 100 + i, "m", "count_total", b * 100 + i) for i in range(100)])
        s.close()
    """)
    reader = textwrap.dedent(f"""
        import sys, time
        from fieldlab.store import SqliteStore
        s = SqliteStore({str(path)!r}, readonly=True)
        seen = 0
        deadline = time.monotonic() + 60
        while seen < 20000 and time.monotonic() < deadline:
            n = len(s.read("m", "count_total", 0, 10**9))
            assert n % 100 == 0, n
            seen = n
        print(seen)
    """)
    procs = [
        subprocess.Popen([sys.executable, "-c", reader], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    w = subprocess.run([sys.executable, "-c", writer], capture_output=True, text=True, timeout=120)
    assert w.returncode == 0, w.stderr
    for p in procs:
        out, _ = p.communicate(timeout=120)
        assert p.returncode == 0
        assert out.strip() == "20000"


def test_a_version_1_file_reads_on_read_only_and_a_writer_upgrades_it(tmp_path):
    """Schema 2 only adds the hand-entry table: `fieldlab oee` on a file the new gateway has
    not opened yet still reads it; the next writer adds the table."""
    import sqlite3

    from fieldlab.store.sqlite import MIGRATIONS, SCHEMA_VERSION

    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0])
    db.execute("INSERT INTO series (id, machine, signal) VALUES (1, 'm', 'state')")
    db.execute("INSERT INTO samples VALUES (1, 10, 'running')")
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    with SqliteStore(path, readonly=True) as old:
        assert old.read("m", "state", 0, 100).values.tolist() == ["running"]
        assert old.entries() == [] and old.schema_version() == 1
        assert old.alerts(0, 10**13) == []  # tables added later read as empty
        assert old.attempts("r@1") == []
    with SqliteStore(path) as writer:
        assert writer.schema_version() == SCHEMA_VERSION == 7
        assert writer.entries() == [] and writer.alerts(0, 10**13) == []
        assert writer.attempts("r@1") == []


def test_rows_as_json_and_row_by_row_store_the_same(tmp_path):
    """One statement over JSON (the GIL held once a commit) or, on an SQLite without JSON
    functions, executemany: the same rows, the same types."""
    from fieldlab.domain.samples import Sample

    batch = [
        Sample(1, "m", "count_total", 7),
        Sample(2, "m", "count_total", 2**53 + 1),
        Sample(1, "m", "temperature", 21.5),
        Sample(2, "m", "temperature", 21.0),
        Sample(1, "m", "product", 'Ünit "A"'),
        Sample(2, "m", "product", "007"),
    ]
    got = []
    for json_rows in (True, False):
        with SqliteStore(tmp_path / f"{json_rows}.db") as s:
            s._json = json_rows
            s.write(batch)
            got.append(
                [
                    (sig, s.read("m", sig, 0, 9).values.tolist())
                    for sig in ("count_total", "temperature", "product")
                ]
            )
    assert (
        got[0]
        == got[1]
        == [
            ("count_total", [7, 2**53 + 1]),
            ("temperature", [21.5, 21.0]),
            ("product", ['Ünit "A"', "007"]),
        ]
    )


# -- retention of process values (SqliteStore.thin) ------------------------------------------

T0 = 1772427600000  # a whole minute


def _held_integral(ts: list[int], values: list[float], end: int) -> float:
    """The integral of a value held from each sample to the next, up to ``end`` (ms·value)."""
    total = 0.0
    for k, t in enumerate(ts):
        nxt = ts[k + 1] if k + 1 < len(ts) else end
        total += values[k] * (min(nxt, end) - t)
    return total


def _series(store: SqliteStore, signal: str, start: int, end: int) -> tuple[list, list]:
    s = store.read("press-1", signal, start, end)
    keep = s.ts >= start
    return s.ts[keep].tolist(), s.values[keep].tolist()


def _minute_integrals(
    ts: list[int], values: list[float], first: int, minutes: int, period: int = 1
) -> list:
    """The held integral over each whole period of ``period`` minutes from ``first`` on (None
    before any sample)."""
    out = []
    for m in range(minutes):
        lo, hi = first + m * period * 60_000, first + (m + 1) * period * 60_000
        held = [(t, v) for t, v in zip(ts, values, strict=True) if t < lo][-1:]
        inside = [(t, v) for t, v in zip(ts, values, strict=True) if lo <= t < hi]
        pts = [(lo, held[0][1])] + inside if held else inside
        if not pts:
            out.append(None)
            continue
        total = 0.0
        for k, (t, v) in enumerate(pts):
            total += v * ((pts[k + 1][0] if k + 1 < len(pts) else hi) - t)
        out.append(total)
    return out


def test_thinning_keeps_one_sample_a_minute_with_the_same_integral(store):
    secs = 600  # ten minutes at 1 Hz
    temp = [S(T0 + k * 1000, "temp_c", 60 + (k % 37) * 0.25 + (k // 60)) for k in range(secs)]
    power = [S(T0 + k * 1000, "power_kw", 5.0 + k % 7) for k in range(secs)]
    others = [S(T0, "state", "running")] + [S(T0 + k * 1000, "count_total", k) for k in range(secs)]
    store.write(temp + power + others)
    until = T0 + 5 * 60_000
    before = _series(store, "temp_c", T0, T0 + secs * 1000)
    latest = store.latest("press-1")

    stats = store.thin(until + 59_999)  # taken down to the minute
    assert (stats.periods, stats.removed) == (5, 5 * 59)
    ts, values = _series(store, "temp_c", T0, T0 + secs * 1000)
    # one a minute, at its start, before `until` (the sample read at `until` follows on)
    assert ts == [T0 + m * 60_000 for m in range(5)] + [T0 + k * 1000 for k in range(300, secs)]
    assert _minute_integrals(ts, values, T0, 10) == pytest.approx(
        _minute_integrals(*before, T0, 10), rel=1e-12
    )
    assert values[0] == pytest.approx(sum(before[1][:60]) / 60)
    assert store.latest("press-1") == latest
    # energy and counters as written
    assert len(_series(store, "power_kw", T0, T0 + secs * 1000)[0]) == secs
    assert len(_series(store, "count_total", T0, T0 + secs * 1000)[0]) == secs
    ranges = store._db.execute("SELECT start, min, max, n FROM ranges").fetchall()
    assert [r[3] for r in ranges] == [60] * 5 and ranges[0][0] == T0
    minute0 = before[1][:60]
    assert (ranges[0][1], ranges[0][2]) == (min(minute0), max(minute0))
    # a second pass has nothing to do; a later one thins on from where it stopped
    assert store.thin(until).periods == 0
    assert store.thin(T0 + secs * 1000).periods == 5
    ts, values = _series(store, "temp_c", T0, T0 + secs * 1000 + 1)
    assert ts[-2:] == [T0 + 9 * 60_000, T0 + secs * 1000]  # the run ends with the last value
    assert values[-1] == before[1][-1]
    assert _minute_integrals(ts, values, T0, 10) == pytest.approx(
        _minute_integrals(*before, T0, 10), rel=1e-12
    )


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 5 * 60_000 - 1), st.floats(-1e6, 1e6, allow_nan=False)),
        min_size=1,
        max_size=200,
        unique_by=lambda p: p[0],
    ),
    st.lists(st.integers(0, 5), min_size=1, max_size=3),
    st.sampled_from([1, 1, 2, 5]),
)
def test_thinning_never_changes_a_periods_held_integral_or_what_holds_after(
    tmp_path_factory, points, passes, period
):
    """Whatever the samples and the period, in one pass or several: every period's held
    integral, the value held from the aggregated part's end on, and everything after it as
    read."""
    with SqliteStore(tmp_path_factory.mktemp("thin") / "f.db") as store:
        points.sort()
        store.write([S(T0 + t, "pressure_bar", v) for t, v in points])
        end = T0 + 5 * 60_000
        before = _series(store, "pressure_bar", T0, end)
        for minutes in sorted(passes):
            store.thin(T0 + minutes * 60_000, period_ms=period * 60_000)
        until = T0 + max(passes) * 60_000
        until -= (until - T0) % (period * 60_000)  # T0 is a whole hour
        after = _series(store, "pressure_bar", T0, end)
        scale = max(1.0, max(abs(v) for v in before[1])) * 60_000 * period
        spans = 5 // period
        for a, b in zip(
            _minute_integrals(*after, T0, spans, period),
            _minute_integrals(*before, T0, spans, period),
            strict=True,
        ):
            assert (a is None) == (b is None)
            if a is not None:
                assert a == pytest.approx(b, abs=1e-9 * scale)
        # after `until` as read (a run ending there may add the last value read, at `until`)
        assert [p for p in zip(*after, strict=True) if p[0] > until] == [
            p for p in zip(*before, strict=True) if p[0] > until
        ]
        held = lambda s, t: [v for ts, v in zip(*s, strict=True) if ts <= t][-1:]  # noqa: E731
        for t in range(until, end, 7_000):
            assert held(after, t) == held(before, t)


def test_a_long_first_pass_goes_a_day_at_a_time_and_agrees(store):
    """Three days of 10-second readings thinned in one call (a day a transaction inside):
    one sample a minute, the held integral of every day the same."""
    import numpy as np

    days, step = 3, 10_000
    ts = np.arange(T0, T0 + days * 86_400_000, step)
    values = np.round(50 + 10 * np.sin(np.arange(ts.size) / 97.0), 3)
    store.write([S(int(t), "temp_c", float(v)) for t, v in zip(ts, values, strict=True)])
    end = T0 + days * 86_400_000

    def day_integrals(t: np.ndarray, v: np.ndarray) -> list[float]:
        nxt = np.append(t[1:], end)
        out = []
        for d in range(days):
            lo, hi = T0 + d * 86_400_000, T0 + (d + 1) * 86_400_000
            held = np.clip(np.minimum(nxt, hi) - np.maximum(t, lo), 0, None)
            out.append(float((v * held).sum()))
        return out

    stats = store.thin(end)
    assert stats.series == 1 and stats.periods == days * 1440
    after = store.read("press-1", "temp_c", T0, end + 1)
    t, v = after.ts, after.values.astype(float)
    assert t.size == days * 1440 + 1  # a mean a minute, and the last value read at the end
    assert day_integrals(t[t < end], v[t < end]) == pytest.approx(
        day_integrals(ts, values), rel=1e-12
    )
    assert v[-1] == values[-1]


_VALUES = st.one_of(
    st.integers(-(2**40), 2**40), st.floats(-1e9, 1e9, allow_nan=False), st.sampled_from(["a", "b"])
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 50), st.sampled_from(["m1", "m2"]), st.sampled_from(["v", "w"]), _VALUES
        ),
        max_size=60,
    ),
    st.integers(0, 60),
)
def test_samples_in_columns_are_stored_as_the_samples_themselves(tmp_path_factory, rows, cut):
    """A gateway worker's batches come packed in columns (domain/packed.py) and go into the
    store without a `Sample` apiece: the same rows and the same `latest` as written one by one,
    duplicates of a (series, time) and all, also beside plain samples in one write."""
    from fieldlab.domain.packed import Packed

    samples = [Sample(T0 + t, m, s, v) for t, m, s, v in rows]
    assert Packed.of(samples).samples() == samples
    folder = tmp_path_factory.mktemp("packed")
    with SqliteStore(folder / "a.db") as plain, SqliteStore(folder / "b.db") as packed:
        plain.write(samples)
        assert packed.write(samples[:cut], [Packed.of(samples[cut:])]) == len(samples)
        for q in (
            "SELECT machine, signal, ts, value FROM samples JOIN series ON series.id = series "
            "ORDER BY 1, 2, 3",
            "SELECT machine, signal, ts, value FROM latest JOIN series ON series.id = series "
            "ORDER BY 1, 2",
        ):
            assert packed._db.execute(q).fetchall() == plain._db.execute(q).fetchall()
