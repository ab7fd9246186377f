"""SQLite store: the embedded default historian.

One writer process and any number of reader processes (dashboard, `fieldlab oee`) share the file
through WAL. Samples live in a clustered ``(series, ts)`` table, so a range read is one index
walk, and re-writing a sample is an idempotent upsert (re-deliveries are harmless).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path

import numpy as np

from fieldlab.domain.alerts import AlertEvent
from fieldlab.domain.entries import Entry
from fieldlab.domain.history import Series
from fieldlab.domain.learning import Attempt
from fieldlab.domain.packed import Packed
from fieldlab.domain.quality import QualityEvent
from fieldlab.domain.rejected import Rejected
from fieldlab.domain.samples import Sample, is_process_value
from fieldlab.store.base import StoreError

#: Each entry upgrades the schema by one version; never edit a released entry, append.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE series (
        id INTEGER PRIMARY KEY,
        machine TEXT NOT NULL,
        signal TEXT NOT NULL,
        UNIQUE (machine, signal)
    );
    CREATE TABLE samples (
        series INTEGER NOT NULL REFERENCES series(id),
        ts INTEGER NOT NULL,
        value,
        PRIMARY KEY (series, ts)
    ) WITHOUT ROWID;
    CREATE TABLE latest (
        series INTEGER PRIMARY KEY REFERENCES series(id),
        ts INTEGER NOT NULL,
        value
    );
    CREATE INDEX latest_ts ON latest (ts);
    CREATE TABLE rejected (
        id INTEGER PRIMARY KEY,
        received INTEGER NOT NULL,
        source TEXT NOT NULL,
        payload TEXT NOT NULL,
        reason TEXT NOT NULL
    );
    """,
    # 2: who entered what by hand (additive: a reader of version 1 files reads on)
    """
    CREATE TABLE entries (
        id INTEGER PRIMARY KEY,
        entered INTEGER NOT NULL,
        ts INTEGER NOT NULL,
        machine TEXT NOT NULL,
        signal TEXT NOT NULL,
        value TEXT NOT NULL,
        by TEXT NOT NULL,
        source TEXT NOT NULL
    );
    CREATE INDEX entries_machine ON entries (machine, entered);
    """,
    # 3: what the alert rules said (additive)
    """
    CREATE TABLE alerts (
        id INTEGER PRIMARY KEY,
        ts INTEGER NOT NULL,
        rule TEXT NOT NULL,
        subject TEXT NOT NULL,
        event TEXT NOT NULL,
        kind TEXT NOT NULL,
        since INTEGER NOT NULL,
        detail TEXT NOT NULL,
        value REAL
    );
    CREATE INDEX alerts_ts ON alerts (ts);
    """,
    # 4: workshop participants' answers (additive)
    """
    CREATE TABLE attempts (
        id INTEGER PRIMARY KEY,
        ts INTEGER NOT NULL,
        run TEXT NOT NULL,
        participant TEXT NOT NULL,
        question TEXT NOT NULL,
        given TEXT NOT NULL,
        verdict TEXT NOT NULL,
        hint INTEGER NOT NULL
    );
    CREATE INDEX attempts_run ON attempts (run, ts);
    """,
    # 5: retention of process values (additive): each aggregated period's range, and how far
    # each series is aggregated
    """
    CREATE TABLE ranges (
        series INTEGER NOT NULL REFERENCES series(id),
        start INTEGER NOT NULL,
        span INTEGER NOT NULL,
        min REAL NOT NULL,
        max REAL NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (series, start)
    ) WITHOUT ROWID;
    CREATE TABLE retention (
        series INTEGER PRIMARY KEY REFERENCES series(id),
        done_until INTEGER NOT NULL
    );
    """,
    # 6: repeated rejections kept once an hour with a count (domain.md §10; additive)
    """
    ALTER TABLE rejected ADD COLUMN repeats INTEGER NOT NULL DEFAULT 0;
    """,
    # 7: clock steps and skews (domain.md §9; additive)
    """
    CREATE TABLE quality (
        id INTEGER PRIMARY KEY,
        ts INTEGER NOT NULL,
        source TEXT NOT NULL,
        kind TEXT NOT NULL,
        value_s REAL NOT NULL
    );
    CREATE INDEX quality_ts ON quality (ts);
    """,
)
#: The oldest schema a read-only reader still reads (later migrations only add tables and
#: columns with defaults, which a reader of an older file reads as empty).
READABLE_FROM = 1
SCHEMA_VERSION = len(MIGRATIONS)


@dataclass
class ThinStats:
    """What one retention pass did."""

    series: int = 0
    periods: int = 0
    removed: int = 0


def _has_json(db: sqlite3.Connection) -> bool:
    """JSON1 is built into SQLite since 3.38 and into nearly every build before; without it
    (an old system SQLite) samples are written row by row."""
    try:
        return bool(db.execute("SELECT json_extract('[7]', '$[0]')").fetchone()[0] == 7)
    except sqlite3.OperationalError:
        return False


#: a sample again (the same series and time) replaces it: every write is idempotent
ON_CONFLICT = "ON CONFLICT (series, ts) DO UPDATE SET value = excluded.value"
UPSERT_SAMPLE = "INSERT INTO samples (series, ts, value) VALUES (?, ?, ?) " + ON_CONFLICT


class SqliteStore:
    def __init__(self, path: str | Path, *, readonly: bool = False, create: bool = True):
        self.path = Path(path)
        self.readonly = readonly
        self._lock = threading.RLock()
        self._series: dict[tuple[str, str], int] = {}
        if not self.path.exists() and (readonly or not create):
            raise StoreError(
                f"{self.path}: no store here yet (fill it with `fieldlab ingest` or the gateway)"
            )
        try:
            if readonly:
                uri = f"{self.path.resolve().as_uri()}?mode=ro"
                self._db = sqlite3.connect(uri, uri=True, timeout=30, check_same_thread=False)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._db = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
            self._db.isolation_level = None  # explicit BEGIN/COMMIT
            self._db.execute("PRAGMA busy_timeout = 30000")
            if not readonly:
                self._db.execute("PRAGMA journal_mode = WAL")
                self._db.execute("PRAGMA synchronous = NORMAL")
            self._migrate()
            self._json = _has_json(self._db)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: not a usable SQLite store ({exc})") from None

    # -- schema -------------------------------------------------------------------------------

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: schema version {version} is newer than this fieldlab-kit "
                f"understands ({SCHEMA_VERSION}); upgrade fieldlab-kit"
            )
        if version == SCHEMA_VERSION:
            return
        if self.readonly and version >= READABLE_FROM:
            return  # a writer upgrades it; what is missing reads as empty
        if self.readonly:
            raise StoreError(
                f"{self.path}: schema version {version} needs an upgrade; "
                "open it once with a writer (fieldlab ingest or the gateway)"
            )
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                version = self._db.execute("PRAGMA user_version").fetchone()[0]
                for step in range(version, SCHEMA_VERSION):
                    for stmt in MIGRATIONS[step].split(";"):
                        if stmt.strip():
                            self._db.execute(stmt)
                self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    # -- writing ------------------------------------------------------------------------------

    def _series_id(self, machine: str, signal: str, create: bool) -> int | None:
        key = (machine, signal)
        sid = self._series.get(key)
        if sid is not None:
            return sid
        row = self._db.execute(
            "SELECT id FROM series WHERE machine = ? AND signal = ?", key
        ).fetchone()
        if row is None:
            if not create:
                return None
            row = (
                self._db.execute(
                    "INSERT INTO series (machine, signal) VALUES (?, ?)", key
                ).lastrowid,
            )
        self._series[key] = int(row[0])
        return int(row[0])

    def write(self, samples: Sequence[Sample], packed: Sequence[Packed] = ()) -> int:
        """Samples, and samples in columns (a gateway worker's), in one transaction."""
        if not samples and not packed:
            return 0
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                rows = []
                newest: dict[int, tuple[int, object]] = {}
                known = self._series
                for s in samples:
                    sid = known.get((s.machine, s.signal))
                    if sid is None:
                        sid = self._series_id(s.machine, s.signal, create=True)
                        assert sid is not None  # create=True makes one
                    ts = s.ts
                    rows.append((sid, ts, s.value))
                    prev = newest.get(sid)
                    if prev is None or ts >= prev[0]:
                        newest[sid] = (ts, s.value)
                # One statement with the rows as one JSON text, not executemany: SQLite then
                # holds the GIL once, not once a row, so ingest threads (paho's network
                # thread) run beside the commit instead of waiting for it (fieldlab bench
                # sparkplug: a commit beside ingest took 10x as long row by row).
                if rows:
                    try:
                        if not self._json:
                            raise ValueError("this SQLite has no JSON functions")
                        text = json.dumps(rows, allow_nan=False)
                    except ValueError:  # a NaN or infinity (no connector sends one): row by row
                        self._db.executemany(
                            UPSERT_SAMPLE,
                            rows,
                        )
                    else:
                        self._db.execute(
                            "INSERT INTO samples (series, ts, value) "
                            "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), "
                            "json_extract(value, '$[2]') FROM json_each(?) "
                            "WHERE true " + ON_CONFLICT,
                            (text,),
                        )
                n = len(rows) + self._write_packed(packed, newest)
                self._db.executemany(
                    "INSERT INTO latest (series, ts, value) VALUES (?, ?, ?) "
                    "ON CONFLICT (series) DO UPDATE SET ts = excluded.ts, value = excluded.value "
                    "WHERE excluded.ts >= latest.ts",
                    [(sid, ts, v) for sid, (ts, v) in newest.items()],
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                self._series.clear()  # ids created in the rolled-back transaction are gone
                raise
        return n

    def _write_packed(self, packed: Sequence[Packed], newest: dict[int, tuple[int, object]]) -> int:
        """Columns straight into `executemany`, no `Sample` or JSON text apiece: only a
        gateway worker's batches come packed, and no MQTT network thread shares the writer's
        process then, so the GIL held row by row costs nothing (domain/packed.py)."""
        n = 0
        for p in packed:
            ids = [self._series_id(m, s, create=True) for m, s in p.keys]
            self._db.executemany(
                UPSERT_SAMPLE,
                zip(map(ids.__getitem__, p.key), p.ts, p.values, strict=True),
            )
            for sid, (ts, v) in zip(ids, p.newest, strict=True):
                assert sid is not None  # create=True makes one
                prev = newest.get(sid)
                if prev is None or ts >= prev[0]:
                    newest[sid] = (ts, v)
            n += len(p)
        return n

    def thin(
        self, until: int, *, period_ms: int = 60_000, series_per_commit: int = 20
    ) -> ThinStats:
        """Retention of process values (domain.md §2: numbers with no rule of their own), as
        aggregates of ``period_ms`` (a minute by default): each period before ``until`` (epoch
        ms, taken down to a period) that holds two samples or more becomes one sample at its
        start, the time-weighted mean of the value held over it; after a run of such periods
        one more sample, at the end of the run, carries the last value read. A value held from
        one sample to the next (as every reader holds it) then has the same integral over every
        period and the same value from the end of the run on; each period's min, max and count
        go to `ranges`. States, reasons, counters, `power_kw` and `energy_kwh` are never
        touched (their own rules need every sample). Cheap to run again: each series remembers
        how far it got."""
        until -= until % period_ms
        stats = ThinStats()
        with self._lock:
            todo = [
                sid
                for sid, signal in self._db.execute("SELECT id, signal FROM series ORDER BY id")
                if is_process_value(signal)
            ]
        # A day of a few series a transaction: the first pass over a year-old store must not
        # hold the writer for minutes (the gateway's commits wait for the lock).
        touched: set[int] = set()
        while todo:
            more = []
            for k in range(0, len(todo), series_per_commit):
                with self._lock:
                    self._db.execute("BEGIN IMMEDIATE")
                    try:
                        for sid in todo[k : k + series_per_commit]:
                            if self._thin_series(sid, until, period_ms, stats):
                                more.append(sid)
                                touched.add(sid)
                        self._db.execute("COMMIT")
                    except BaseException:
                        self._db.execute("ROLLBACK")
                        raise
            todo = more
        stats.series = len(touched)
        return stats

    def _thin_series(self, sid: int, until: int, period: int, stats: ThinStats) -> bool:
        """One slice (a day at most) of one series; False when it had nothing left to do."""
        db = self._db
        row = db.execute("SELECT done_until FROM retention WHERE series = ?", (sid,)).fetchone()
        if row is not None:
            since = row[0]
        else:
            first = db.execute("SELECT min(ts) FROM samples WHERE series = ?", (sid,)).fetchone()
            since = first[0] - first[0] % period if first[0] is not None else until
        since += -since % period  # a period another setting left half done stays as it is
        if since >= until:
            return False
        until = min(until, since + period * max(1, 86_400_000 // period))
        before = db.execute(
            "SELECT value FROM samples WHERE series = ? AND ts < ? ORDER BY ts DESC LIMIT 1",
            (sid, since),
        ).fetchone()
        args = {"s": sid, "a": since, "u": until, "b": period, "v": before[0] if before else None}
        db.execute("DROP TABLE IF EXISTS temp.thin")
        # Per period m (ms m*b .. (m+1)*b) with n >= 2 samples: w = the held integral from its
        # first sample to its end; carry = the value held into it (the sample before its first).
        db.execute(
            "CREATE TEMP TABLE thin AS "
            "WITH s AS (SELECT ts, value, ts / :b AS m, "
            "coalesce(LAG(value) OVER w, :v) AS pv, LEAD(ts) OVER w AS nxt, "
            "ROW_NUMBER() OVER (PARTITION BY ts / :b ORDER BY ts) AS k FROM samples "
            "WHERE series = :s AND ts >= :a AND ts < :u WINDOW w AS (ORDER BY ts)) "
            "SELECT m, count(*) AS n, min(ts) AS t0, min(value) AS lo, max(value) AS hi, "
            "sum(value * (min(coalesce(nxt, (m + 1) * :b), (m + 1) * :b) - ts)) AS w, "
            "max(CASE WHEN k = 1 THEN pv END) AS carry, "
            "max(CASE WHEN nxt IS NULL OR nxt >= (m + 1) * :b THEN value END) AS last, "
            "max(CASE WHEN nxt = (m + 1) * :b THEN 1 ELSE 0 END) AS joined "
            "FROM s GROUP BY m HAVING count(*) >= 2",
            args,
        )
        db.execute("CREATE UNIQUE INDEX temp.thin_m ON thin (m)")  # runs: is m + 1 there?
        periods, taken = db.execute(
            "SELECT count(*), coalesce(sum(n), 0) FROM temp.thin"
        ).fetchone()
        if periods:
            db.execute(
                "INSERT INTO ranges (series, start, span, min, max, n) "
                "SELECT :s, m * :b, :b, lo, hi, n FROM temp.thin WHERE true "
                "ON CONFLICT (series, start) DO UPDATE SET min = min(min, excluded.min), "
                "max = max(max, excluded.max), n = n + excluded.n",
                args,
            )
            db.execute(
                "DELETE FROM samples WHERE series = :s AND ts >= :a AND ts < :u "
                "AND ts / :b IN (SELECT m FROM temp.thin)",
                args,
            )
            # the period's mean from its start (from its first sample when nothing was held
            # before it: nothing before the first sample)
            db.execute(
                "INSERT INTO samples (series, ts, value) "
                "SELECT :s, CASE WHEN carry IS NULL THEN t0 ELSE m * :b END, "
                "CASE WHEN carry IS NULL THEN w * 1.0 / ((m + 1) * :b - t0) "
                "ELSE (w + carry * (t0 - m * :b)) * 1.0 / :b END FROM temp.thin",
                args,
            )
            # the last value read, from the end of a run of aggregated periods on (unless a
            # sample read at that very instant says what holds from there)
            written = db.execute(
                "INSERT OR IGNORE INTO samples (series, ts, value) "
                "SELECT :s, (m + 1) * :b, last FROM temp.thin AS a WHERE joined = 0 AND "
                "NOT EXISTS (SELECT 1 FROM temp.thin AS b WHERE b.m = a.m + 1)",
                args,
            ).rowcount
            stats.periods += periods
            stats.removed += taken - periods - written
        db.execute("DROP TABLE temp.thin")
        db.execute(
            "INSERT INTO retention (series, done_until) VALUES (?, ?) "
            "ON CONFLICT (series) DO UPDATE SET done_until = excluded.done_until",
            (sid, until),
        )
        return True

    def _insert(self, sql: str, rows: Sequence[Sequence[object]]) -> int:
        """Records of the kit's own (rejected input, hand entries, alerts, answers): one
        transaction a batch."""
        if not rows:
            return 0
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(sql, rows)
            self._db.execute("COMMIT")
        return len(rows)

    def write_rejected(self, records: Iterable[Rejected]) -> int:
        now = int(time.time() * 1000)
        rows = [
            (now if r.received is None else r.received, r.source, t.payload, r.reason, r.repeats)
            for r in records
            for t in (r.truncated(),)
        ]
        return self._insert(
            "INSERT INTO rejected (received, source, payload, reason, repeats) "
            "VALUES (?, ?, ?, ?, ?)",
            rows,
        )

    # -- reading ------------------------------------------------------------------------------

    def read(self, machine: str, signal: str, start: int, end: int) -> Series:
        with self._lock:
            sid = self._series_id(machine, signal, create=False)
            if sid is None:
                return Series.empty()
            # the value carried in from before `start`, then the window: one statement
            rows = self._db.execute(
                "SELECT * FROM (SELECT ts, value FROM samples WHERE series = ?1 AND ts < ?2 "
                "ORDER BY ts DESC LIMIT 1) UNION ALL SELECT * FROM (SELECT ts, value FROM "
                "samples WHERE series = ?1 AND ts >= ?2 AND ts < ?3) ORDER BY ts",
                (sid, start, end),
            ).fetchall()
        if not rows:
            return Series.empty()
        # a column at a time (`zip(*rows)` would unpack a year of rows as arguments: 9× slower)
        n = len(rows)
        return Series(
            np.fromiter(map(itemgetter(0), rows), dtype=np.int64, count=n),
            np.fromiter(map(itemgetter(1), rows), dtype=object, count=n),
        )

    def latest(self, machine: str | None = None) -> list[Sample]:
        sql = (
            "SELECT l.ts, s.machine, s.signal, l.value FROM latest l "
            "JOIN series s ON s.id = l.series"
        )
        args: tuple[str, ...] = ()
        if machine is not None:
            sql += " WHERE s.machine = ?"
            args = (machine,)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY s.machine, s.signal", args).fetchall()
        return [Sample(int(ts), m, sig, v) for ts, m, sig, v in rows]

    def run_start(self, machine: str, signal: str) -> int | None:
        with self._lock:
            sid = self._series_id(machine, signal, create=False)
            if sid is None:
                return None
            last = self._db.execute("SELECT ts, value FROM latest WHERE series = ?", (sid,))
            row = last.fetchone()
            if row is None:
                return None
            # back along the index to the last other value, then forward one sample
            other = self._db.execute(
                "SELECT ts FROM samples WHERE series = ? AND ts < ? AND value IS NOT ? "
                "ORDER BY ts DESC LIMIT 1",
                (sid, row[0], row[1]),
            ).fetchone()
            first = self._db.execute(
                "SELECT ts FROM samples WHERE series = ? AND ts > ? ORDER BY ts LIMIT 1",
                (sid, -(2**63) if other is None else other[0]),
            ).fetchone()
        return None if first is None else int(first[0])

    def machines(self) -> list[str]:
        with self._lock:
            rows = self._db.execute("SELECT DISTINCT machine FROM series ORDER BY 1").fetchall()
        return [r[0] for r in rows]

    def signals(self, machine: str) -> list[str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT signal FROM series WHERE machine = ? ORDER BY 1", (machine,)
            ).fetchall()
        return [r[0] for r in rows]

    def newest_ts(self) -> int | None:
        with self._lock:
            row = self._db.execute("SELECT max(ts) FROM latest").fetchone()
        return None if row[0] is None else int(row[0])

    def _repeats(self) -> str:
        """The repeats column, or 0 in a file a writer has not upgraded yet (read-only)."""
        return "repeats" if self.schema_version() >= 6 else "0"

    def rejected(self, limit: int = 100) -> list[Rejected]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT source, payload, reason, received, {self._repeats()} FROM rejected "
                "ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [Rejected(*r) for r in rows]

    def rejected_count(self) -> int:
        """Every rejection, a record standing for itself and its repeats (domain.md §10)."""
        with self._lock:
            sql = f"SELECT count(*) + coalesce(sum({self._repeats()}), 0) FROM rejected"
            return int(self._db.execute(sql).fetchone()[0])

    def write_entries(self, entries: Iterable[Entry]) -> int:
        rows = [(e.entered, e.ts, e.machine, e.signal, e.value, e.by, e.source) for e in entries]
        return self._insert(
            "INSERT INTO entries (entered, ts, machine, signal, value, by, source) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )

    def write_alerts(self, events: Iterable[AlertEvent]) -> int:
        rows = [
            (e.ts, e.rule, e.subject, e.event, e.kind, e.since, e.detail, e.value) for e in events
        ]
        return self._insert(
            "INSERT INTO alerts (ts, rule, subject, event, kind, since, detail, value) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )

    def alerts(self, start: int, end: int) -> list[AlertEvent]:
        with self._lock:
            try:
                rows = self._db.execute(
                    "SELECT ts, rule, subject, event, kind, since, detail, value FROM alerts "
                    "WHERE ts >= ? AND ts < ? ORDER BY ts, id",
                    (start, end),
                ).fetchall()
            except sqlite3.OperationalError:
                return []  # an older file opened read-only: no rule has said anything yet
        return [AlertEvent(int(r[0]), r[1], r[2], r[3], r[4], int(r[5]), r[6], r[7]) for r in rows]

    def write_quality(self, events: Iterable[QualityEvent]) -> int:
        rows = [(e.ts, e.source, e.kind, e.value_s) for e in events]
        return self._insert(
            "INSERT INTO quality (ts, source, kind, value_s) VALUES (?, ?, ?, ?)", rows
        )

    def quality(self, start: int, end: int) -> list[QualityEvent]:
        with self._lock:
            try:
                rows = self._db.execute(
                    "SELECT ts, source, kind, value_s FROM quality WHERE ts >= ? AND ts < ? "
                    "ORDER BY ts, id",
                    (start, end),
                ).fetchall()
            except sqlite3.OperationalError:
                return []  # an older file opened read-only: nothing recorded yet
        return [QualityEvent(int(r[0]), r[1], r[2], float(r[3])) for r in rows]

    def write_attempts(self, attempts: Iterable[Attempt]) -> int:
        rows = [
            (a.ts, a.run, a.participant, a.question, a.given, a.verdict, int(a.hint))
            for a in attempts
        ]
        return self._insert(
            "INSERT INTO attempts (ts, run, participant, question, given, verdict, hint) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )

    def attempts(self, run: str) -> list[Attempt]:
        with self._lock:
            try:
                rows = self._db.execute(
                    "SELECT ts, run, participant, question, given, verdict, hint FROM attempts "
                    "WHERE run = ? ORDER BY ts, id",
                    (run,),
                ).fetchall()
            except sqlite3.OperationalError:
                return []  # an older file opened read-only: nobody answered yet
        return [Attempt(int(r[0]), r[1], r[2], r[3], r[4], r[5], bool(r[6])) for r in rows]

    def entries(
        self, machine: str | None = None, limit: int = 100, signal: str | None = None
    ) -> list[Entry]:
        sql = "SELECT ts, machine, signal, value, by, entered, source FROM entries"
        where = {"machine": machine, "signal": signal}
        used = {k: v for k, v in where.items() if v is not None}
        if used:
            sql += " WHERE " + " AND ".join(f"{k} = ?" for k in used)
        args: tuple[object, ...] = tuple(used.values())
        with self._lock:
            try:
                rows = self._db.execute(
                    sql + " ORDER BY id DESC LIMIT ?", (*args, limit)
                ).fetchall()
            except sqlite3.OperationalError:
                return []  # a version-1 file opened read-only: nobody entered anything yet
        return [Entry(int(r[0]), r[1], r[2], r[3], r[4], int(r[5]), r[6]) for r in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
