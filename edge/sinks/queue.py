"""Durable store-and-forward: an on-disk queue (SQLite) in front of every remote sink.

A batch is appended before the gateway acknowledges its source, and removed only after the
remote end confirmed it; a crash or SIGKILL in between means it is sent again, which the
idempotent InfluxDB write (same series, same time) turns into exactly once. When the queue
passes its size or age cap, the overflow policy acts and every point it drops is counted.
The batch being sent is never dropped: its write may have reached the server even when it
failed here, and dropping it would count as lost what arrived.

Beside the batches the file keeps, per machine, the newest sample time and state ever queued
(`newest`): after a crash during an outage that is newer than anything the server holds, and
the gateway closes the gap with `offline` from there (domain.md §3).

Every operation costs the same however long the queue is: the totals (batches, points, bytes)
are summed once when the file is opened and kept running after that, and the caps look only at
the oldest batches by primary key. A long InfluxDB outage must not slow ingest down.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Literal

Overflow = Literal["drop_oldest", "drop_newest"]

#: a machine's row in `newest` keeps the newest time and the newest state of both
_KEEP_NEWEST = (
    "ON CONFLICT (machine) DO UPDATE SET ts = max(ts, excluded.ts), "
    "state = CASE WHEN excluded.state_ts >= coalesce(state_ts, -1) "
    "THEN excluded.state ELSE state END, "
    "state_ts = max(coalesce(state_ts, -1), coalesce(excluded.state_ts, -1))"
)


class DurableQueue:
    def __init__(
        self,
        path: str | Path,
        *,
        max_bytes: int = 512 * 2**20,
        max_age_s: float | None = None,
        overflow: Overflow = "drop_oldest",
    ):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self.max_age_s = max_age_s
        self.overflow = overflow
        self._lock = threading.Lock()
        self._inflight: int | None = None  # the batch peek() handed out, until ack()
        self._db = sqlite3.connect(
            self.path, check_same_thread=False, isolation_level=None, timeout=30
        )
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS batches (id INTEGER PRIMARY KEY AUTOINCREMENT, "
            "created REAL NOT NULL, points INTEGER NOT NULL, bytes INTEGER NOT NULL, "
            "payload BLOB NOT NULL)"
        )
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)"
        )
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS newest (machine TEXT PRIMARY KEY, ts INTEGER NOT NULL, "
            "state_ts INTEGER, state TEXT)"
        )
        batches, points, size = self._db.execute(
            "SELECT count(*), coalesce(sum(points), 0), coalesce(sum(bytes), 0) FROM batches"
        ).fetchone()
        self._totals = [int(batches), int(points), int(size)]  # running: batches, points, bytes
        self._pending = [0, 0, 0]  # changes of the open transaction, applied at COMMIT

    def _added(self, batches: int, points: int, size: int) -> None:
        self._pending = [a + b for a, b in zip(self._pending, (batches, points, size), strict=True)]

    def _commit(self) -> None:
        self._db.execute("COMMIT")
        self._totals = [a + b for a, b in zip(self._totals, self._pending, strict=True)]
        self._pending = [0, 0, 0]

    def _rollback(self) -> None:
        self._db.execute("ROLLBACK")
        self._pending = [0, 0, 0]

    def _bytes(self) -> int:
        return self._totals[2] + self._pending[2]

    def append(
        self,
        payload: bytes,
        points: int,
        newest: dict[str, tuple[int, int | None, str | None]] | None = None,
    ) -> None:
        """Queue one batch; ``newest`` is machine → (newest ts, state ts, state) of it."""
        self.append_many([(payload, points)], newest)

    def append_many(
        self,
        batches: list[tuple[bytes, int]],
        newest: dict[str, tuple[int, int | None, str | None]] | None = None,
    ) -> None:
        """Queue batches (payload, points) in one transaction: one commit, one fsync of the
        WAL at most, for all a pipeline batch brings."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                if newest:
                    self._db.executemany(
                        f"INSERT INTO newest VALUES (?, ?, ?, ?) {_KEEP_NEWEST}",
                        [(m, *v) for m, v in newest.items()],
                    )
                now = time.time()
                for payload, points in batches:
                    size = len(payload)
                    if self.overflow == "drop_newest" and self._bytes() + size > self.max_bytes:
                        self._count("dropped_points", points)
                        continue
                    self._db.execute(
                        "INSERT INTO batches (created, points, bytes, payload) VALUES (?,?,?,?)",
                        (now, points, size, payload),
                    )
                    self._added(1, points, size)
                    self._enforce_caps()
                self._commit()
            except BaseException:
                self._rollback()
                raise

    def _count(self, name: str, n: int) -> None:
        self._db.execute(
            "INSERT INTO counters VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + ?",
            (name, n, n),
        )

    def _drop(self, row: tuple[int, int, int]) -> None:
        batch_id, points, size = row
        self._db.execute("DELETE FROM batches WHERE id = ?", (batch_id,))
        self._count("dropped_points", points)
        self._added(-1, -points, -size)

    def _oldest(self) -> tuple[int, int, int, float] | None:
        """The oldest batch after those being sent: (id, points, bytes, created)."""
        row = self._db.execute(
            "SELECT id, points, bytes, created FROM batches WHERE id > ? ORDER BY id LIMIT 1",
            (-(2**62) if self._inflight is None else self._inflight,),
        ).fetchone()
        return None if row is None else (int(row[0]), int(row[1]), int(row[2]), float(row[3]))

    def _enforce_caps(self) -> None:
        if self.max_age_s is not None:
            cutoff = time.time() - self.max_age_s
            while (row := self._oldest()) is not None and row[3] < cutoff:
                self._drop(row[:3])
        while self._bytes() > self.max_bytes and (row := self._oldest()) is not None:
            self._drop(row[:3])

    def peek_many(self, max_points: int) -> tuple[int, int, bytes, int, int, float] | None:
        """The oldest batches, one write's worth: as many as fit in ``max_points`` and in a
        quarter of the size cap (the oldest one always): (first id, last id, their payloads
        joined by newlines, points, batches, when the oldest was queued). The forwarder sends
        them as one write (`ack_many`). The caps never drop the batches of a write that is
        out, so it is kept as small as one batch may be: overflow still drops the oldest."""
        with self._lock:
            # the sizes first, the payloads of the chosen ones only: a retry during an outage
            # reads one write's worth, not a thousand batches
            rows = self._db.execute(
                "SELECT id, points, bytes, created FROM batches ORDER BY id LIMIT 1000"
            ).fetchall()
            taken: list[tuple[int, int, int, float]] = []
            points = size = 0
            for row in rows:
                more = int(row[2]) + 1
                if taken and (
                    points + int(row[1]) > max_points or size + more > self.max_bytes // 4
                ):
                    break
                taken.append(row)
                points += int(row[1])
                size += more
            if not taken:
                self._inflight = None
                return None
            first, last = int(taken[0][0]), int(taken[-1][0])
            payloads = self._db.execute(
                "SELECT payload FROM batches WHERE id BETWEEN ? AND ? ORDER BY id", (first, last)
            ).fetchall()
            self._inflight = last
        payload = b"\n".join(bytes(r[0]) for r in payloads)
        return first, last, payload, points, len(taken), float(taken[0][3])

    def ack_many(self, first: int, last: int, points: int) -> None:
        """The batches `peek_many` gave, written as one."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            row = self._db.execute(
                "SELECT count(*), coalesce(sum(points), 0), coalesce(sum(bytes), 0) FROM batches "
                "WHERE id BETWEEN ? AND ?",
                (first, last),
            ).fetchone()
            self._db.execute("DELETE FROM batches WHERE id BETWEEN ? AND ?", (first, last))
            self._added(-int(row[0]), -int(row[1]), -int(row[2]))
            self._count("sent_points", points)
            self._commit()
            if self._inflight == last:
                self._inflight = None

    def peek(self) -> tuple[int, bytes, int] | None:
        """The oldest batch: (id, payload, points)."""
        with self._lock:
            row = self._db.execute(
                "SELECT id, payload, points FROM batches ORDER BY id LIMIT 1"
            ).fetchone()
            self._inflight = None if row is None else int(row[0])
        return None if row is None else (int(row[0]), bytes(row[1]), int(row[2]))

    def ack(self, batch_id: int, points: int) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._remove(batch_id)
            self._count("sent_points", points)
            self._commit()
            if self._inflight == batch_id:
                self._inflight = None

    def _remove(self, batch_id: int) -> None:
        row = self._db.execute(
            "DELETE FROM batches WHERE id = ? RETURNING points, bytes", (batch_id,)
        ).fetchone()
        if row is not None:
            self._added(-1, -int(row[0]), -int(row[1]))

    def replace(self, batch_id: int, parts: list[tuple[bytes, int]]) -> None:
        """Split a batch the server found too large, keeping its place in the queue."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._remove(batch_id)
            created = time.time()
            for payload, points in parts:
                self._db.execute(
                    "INSERT INTO batches (id, created, points, bytes, payload) VALUES "
                    "((SELECT coalesce(min(id), 1) - 1 FROM batches), ?, ?, ?, ?)",
                    (created, points, len(payload), payload),
                )
                self._added(1, points, len(payload))
            self._commit()

    def newest(self) -> dict[str, tuple[int, int | None, str | None]]:
        """Machine → (newest sample ts, newest state ts, that state), of all ever queued."""
        with self._lock:
            rows = self._db.execute("SELECT machine, ts, state_ts, state FROM newest").fetchall()
        return {m: (int(ts), None if st is None or st < 0 else int(st), v) for m, ts, st, v in rows}

    def adopt(self, other: Path, *, batches: bool) -> None:
        """Take in another queue file's `newest`, and with ``batches`` its batches and counters
        too (after them in the order of sending), in one transaction. A gateway worker's queue
        (sinks/influxdb.py): its newest for closing gaps at start, and all of it when no worker
        of its index runs any more. The caller deletes the file after taking the batches; a
        crash before that sends them twice, which InfluxDB's idempotent write makes once."""
        with self._lock:
            self._db.execute("ATTACH DATABASE ? AS other", (str(other),))
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    self._db.execute(
                        "INSERT INTO newest SELECT machine, ts, state_ts, state FROM other.newest "
                        f"WHERE true {_KEEP_NEWEST}"
                    )
                    if batches:
                        self._db.execute(
                            "INSERT INTO batches (created, points, bytes, payload) "
                            "SELECT created, points, bytes, payload FROM other.batches ORDER BY id"
                        )
                        n, points, size = self._db.execute(
                            "SELECT count(*), coalesce(sum(points), 0), coalesce(sum(bytes), 0) "
                            "FROM other.batches"
                        ).fetchone()
                        self._added(int(n), int(points), int(size))
                        for name, value in self._db.execute(
                            "SELECT name, value FROM other.counters"
                        ).fetchall():
                            self._count(name, int(value))
                        self._enforce_caps()
                    self._commit()
                except BaseException:
                    self._rollback()
                    raise
            finally:
                self._db.execute("DETACH DATABASE other")

    def count(self, name: str, n: int) -> None:
        with self._lock:
            self._count(name, n)

    def stats(self) -> dict[str, float]:
        with self._lock:
            depth, points, size = self._totals
            row = self._db.execute("SELECT created FROM batches ORDER BY id LIMIT 1").fetchone()
            oldest = None if row is None else float(row[0])
            counters = dict(self._db.execute("SELECT name, value FROM counters").fetchall())
        return {
            "queued_batches": depth,
            "queued_points": points,
            "queued_bytes": size,
            "oldest_age_s": 0.0 if oldest is None else max(0.0, time.time() - oldest),
            "sent_points": counters.get("sent_points", 0),
            "dropped_points": counters.get("dropped_points", 0),
            "rejected_points": counters.get("rejected_points", 0),
        }

    def close(self) -> None:
        with self._lock:
            self._db.close()
