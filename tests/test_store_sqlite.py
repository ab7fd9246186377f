"""The SQLite store: the store contract, schema versioning, and one writer with many readers."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap

import pytest

from edge.domain.samples import Sample
from edge.store import Rejected, SqliteStore, StoreError, open_store
from edge.store.sqlite import SCHEMA_VERSION


@pytest.fixture
def store(tmp_path):
    s = SqliteStore(tmp_path / "f.db")
    yield s
    s.close()


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


def test_values_keep_their_types(store):
    store.write([S(1, "count_total", 7), S(1, "temperature", 21.5), S(1, "product", "A-100")])
    assert store.read("press-1", "count_total", 0, 9).values.tolist() == [7]
    assert store.read("press-1", "temperature", 0, 9).values.tolist() == [21.5]
    assert store.read("press-1", "product", 0, 9).values.tolist() == ["A-100"]


def test_latest_value_per_signal_and_newest_ts(store):
    assert store.newest_ts() is None
    store.write([S(50, value="fault"), S(10, value="idle"), S(5, "count_total", 3)])
    store.write([S(30, value="setup")])  # older than what is there: latest stays at 50
    latest = {s.signal: (s.ts, s.value) for s in store.latest("press-1")}
    assert latest == {"state": (50, "fault"), "count_total": (5, 3)}
    assert store.newest_ts() == 50
    assert store.machines() == ["press-1"]
    assert store.signals("press-1") == ["count_total", "state"]


def test_rejected_records_are_kept_with_their_reason_and_truncated(store):
    store.write_rejected(
        [Rejected("mqtt:x", "{bad", "not valid JSON"), Rejected("mqtt:y", "x" * 10_000, "too long")]
    )
    assert store.rejected_count() == 2
    newest, oldest = store.rejected()
    assert (oldest.source, oldest.payload, oldest.reason) == ("mqtt:x", "{bad", "not valid JSON")
    assert len(newest.payload) < 2100 and newest.payload.endswith("(10000 chars)")


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
        from edge.domain.samples import Sample
        from edge.store import SqliteStore
        s = SqliteStore({str(path)!r})
        for b in range(200):
            s.write([Sample(b * 100 + i, "m", "count_total", b * 100 + i) for i in range(100)])
        s.close()
    """)
    reader = textwrap.dedent(f"""
        import sys, time
        from edge.store import SqliteStore
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
