"""InfluxDB store: samples written as line protocol, read back with InfluxQL over ``/query``.

InfluxQL is the one query language InfluxDB 1.x, 2.x (every bucket has a virtual DBRP mapping)
and 3.x all serve, so `fieldlab oee` and the dashboards read any of them the same way.

URLs: ``influxdb://HOST:PORT/DATABASE`` (1.x; user and password from INFLUXDB_USER and
INFLUXDB_PASSWORD when set) and ``influxdb2://HOST:PORT/BUCKET?org=ORG&token_env=VAR``
(2.x/3.x; the token from the named environment variable, INFLUX_TOKEN by default). Add
``tls=1`` for https.
"""

from __future__ import annotations

import os
import time
import urllib.parse
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from fieldlab.domain.alerts import AlertEvent
from fieldlab.domain.entries import Entry
from fieldlab.domain.history import Series
from fieldlab.domain.learning import Attempt
from fieldlab.domain.quality import QualityEvent
from fieldlab.domain.rejected import Rejected
from fieldlab.domain.samples import Sample
from fieldlab.store.base import StoreError
from fieldlab.store.influx_client import InfluxClient, InfluxTarget
from fieldlab.store.line_protocol import (
    ALERTS,
    ATTEMPTS,
    ENTRIES,
    QUALITY,
    REJECTED,
    alert_lines,
    attempt_lines,
    decode_value,
    entry_lines,
    quality_lines,
    rejected_lines,
    to_lines,
)


def _ident(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


#: The last instant InfluxDB can hold (2262-04-11), in ms.
INFLUX_LAST_MS = (2**63 - 1) // 1_000_000


class InfluxStore:
    def __init__(self, url: str):
        parts = urllib.parse.urlsplit(url)
        query = dict(urllib.parse.parse_qsl(parts.query))
        self.v2 = parts.scheme == "influxdb2"
        scheme = "https" if query.get("tls") in ("1", "true") else "http"
        self.db = parts.path.strip("/") or "fieldlab"
        self.org = query.get("org", "fieldlab")
        self.display = f"{parts.scheme}://{parts.hostname}:{parts.port or 8086}/{self.db}"
        self.client = InfluxClient(
            InfluxTarget(
                base_url=f"{scheme}://{parts.hostname or '127.0.0.1'}:{parts.port or 8086}",
                database=self.db,
                v2=self.v2,
                org=self.org,
                token=os.environ.get(query.get("token_env", "INFLUX_TOKEN")) if self.v2 else None,
                user=None if self.v2 else os.environ.get("INFLUXDB_USER"),
                password=None if self.v2 else os.environ.get("INFLUXDB_PASSWORD"),
                timeout_s=float(query.get("timeout", 10)),
                display=self.display,
            )
        )

    def query(self, q: str) -> list[dict[str, Any]]:
        """InfluxQL; returns the series of the (first) statement."""
        return self.client.query_many([q])[0]

    def query_many(self, statements: list[str]) -> list[list[dict[str, Any]]]:
        return self.client.query_many(statements)

    def _measurements(self) -> list[str]:
        return [
            v[0]
            for s in self.query("SHOW MEASUREMENTS")
            for v in s.get("values", [])
            if v[0]
            not in (
                REJECTED,
                ENTRIES,
                ALERTS,
                ATTEMPTS,
                QUALITY,
            )  # the kit's own records, not signals
        ]

    def _last_per_series(self, where: str = "") -> list[dict[str, Any]]:
        # One statement per measurement: a regex FROM over measurements of different field
        # types silently drops the string ones on InfluxDB 1.x.
        statements = [
            f'SELECT last("value") FROM {_ident(m)}{where} GROUP BY "machine"'
            for m in self._measurements()
        ]
        return [s for series in self.query_many(statements) for s in series]

    def _write_lines(self, lines: str) -> None:
        try:
            self.client.write(lines.encode())
        except OSError as exc:
            raise StoreError(f"{self.display}: unreachable ({exc})") from None

    def create_database(self) -> None:
        """1.x only (2.x/3.x buckets are made by their admin tools)."""
        self.client.create_database()

    # -- the store interface ---------------------------------------------------------------------

    def write(self, samples: Sequence[Sample]) -> int:
        for i in range(0, len(samples), 5000):
            self._write_lines(to_lines(list(samples[i : i + 5000])))
        return len(samples)

    def write_rejected(self, records: Iterable[Rejected]) -> int:
        records = list(records)
        self._write_lines(rejected_lines(records, int(time.time() * 1000)))
        return len(records)

    def read(self, machine: str, signal: str, start: int, end: int) -> Series:
        # InfluxDB's time ends in 2262 (int64 ns): "everything up to far later" is clamped there
        # instead of failing the query; SQLite takes any range, and the store contract is one.
        start, end = (min(t, INFLUX_LAST_MS) for t in (start, end))
        where = f"{_ident('machine')} = {_literal(machine)}"
        meas = _ident(signal)
        carry = self.query(f'SELECT last("value") FROM {meas} WHERE {where} AND time < {start}ms')
        rows = self.query(
            f'SELECT "value" FROM {meas} WHERE {where} AND time >= {start}ms '
            f"AND time < {end}ms ORDER BY time ASC"
        )
        values = [v for s in carry for v in s["values"]] + [v for s in rows for v in s["values"]]
        if not values:
            return Series.empty()
        ts = np.array([int(v[0]) for v in values], dtype=np.int64)
        vals = np.empty(len(values), dtype=object)
        vals[:] = [decode_value(signal, v[1]) for v in values]
        return Series(ts, vals)

    def latest(self, machine: str | None = None) -> list[Sample]:
        where = f" WHERE {_ident('machine')} = {_literal(machine)}" if machine else ""
        out = []
        for s in self._last_per_series(where):
            m = s.get("tags", {}).get("machine")
            for ts, value in s["values"]:
                out.append(Sample(int(ts), m, s["name"], decode_value(s["name"], value)))
        return sorted(out, key=lambda x: (x.machine, x.signal))

    def run_start(self, machine: str, signal: str) -> int | None:
        where = f"{_ident('machine')} = {_literal(machine)}"
        meas = _ident(signal)
        last = self.query(f'SELECT last("value") FROM {meas} WHERE {where}')
        rows = [v for s in last for v in s["values"]]
        if not rows:
            return None
        ts, value = int(rows[0][0]), rows[0][1]
        other = self.query(
            f'SELECT last("value") FROM {meas} WHERE {where} AND time < {ts}ms '
            f'AND "value" != {_literal(value) if isinstance(value, str) else repr(value)}'
        )
        before = [int(v[0]) for s in other for v in s["values"]]
        since = f" AND time > {before[0]}ms" if before else ""
        first = self.query(f'SELECT first("value") FROM {meas} WHERE {where}{since}')
        found = [int(v[0]) for s in first for v in s["values"]]
        return found[0] if found else None

    def machines(self) -> list[str]:
        series = self.query('SHOW TAG VALUES WITH KEY = "machine"')
        return sorted({v[1] for s in series for v in s.get("values", [])})

    def signals(self, machine: str) -> list[str]:
        series = self.query(f"SHOW MEASUREMENTS WHERE {_ident('machine')} = {_literal(machine)}")
        return sorted(v[0] for s in series for v in s.get("values", []) if v[0] != REJECTED)

    def newest_ts(self) -> int | None:
        times = [int(v[0]) for s in self._last_per_series() for v in s["values"]]
        return max(times) if times else None

    def rejected(self, limit: int = 100) -> list[Rejected]:
        series = self.query(
            f'SELECT "source", "payload", "reason", "repeats" FROM {_ident(REJECTED)} '
            f"ORDER BY time DESC LIMIT {int(limit)}"
        )
        return [
            Rejected(v[1], v[2], v[3], int(v[0]), int(v[4] or 0))
            for s in series
            for v in s["values"]
        ]

    def rejected_count(self) -> int:
        """Every rejection, a record standing for itself and its repeats (domain.md §10)."""
        series = self.query(f'SELECT count("reason"), sum("repeats") FROM {_ident(REJECTED)}')
        if not series:
            return 0
        _, n, repeats = series[0]["values"][0]
        return int(n) + int(repeats or 0)

    def write_entries(self, entries: Iterable[Entry]) -> int:
        entries = list(entries)
        if entries:
            self._write_lines(entry_lines(entries))
        return len(entries)

    def entries(
        self, machine: str | None = None, limit: int = 100, signal: str | None = None
    ) -> list[Entry]:
        used = {k: v for k, v in (("machine", machine), ("signal", signal)) if v is not None}
        where = " AND ".join(f"{_ident(k)} = {_literal(v)}" for k, v in used.items())
        where = f" WHERE {where}" if where else ""
        series = self.query(
            f'SELECT "ts", "value", "by", "machine", "signal", "source" FROM {_ident(ENTRIES)}'
            f"{where} ORDER BY time DESC LIMIT {int(limit)}"
        )
        return [
            Entry(int(v[1]), str(v[4]), str(v[5]), str(v[2]), str(v[3]), int(v[0]), str(v[6]))
            for s in series
            for v in s["values"]
        ]

    def write_alerts(self, events: Iterable[AlertEvent]) -> int:
        events = list(events)
        if events:
            self._write_lines(alert_lines(events))
        return len(events)

    def write_quality(self, events: Iterable[QualityEvent]) -> int:
        events = list(events)
        if events:
            self._write_lines(quality_lines(events))
        return len(events)

    def quality(self, start: int, end: int) -> list[QualityEvent]:
        start, end = (min(t, INFLUX_LAST_MS) for t in (start, end))
        series = self.query(
            f'SELECT "source", "kind", "value_s" FROM {_ident(QUALITY)} '
            f"WHERE time >= {int(start)}ms AND time < {int(end)}ms ORDER BY time"
        )
        return [
            QualityEvent(int(v[0]), str(v[1]), v[2], float(v[3]))
            for s in series
            for v in s["values"]
        ]

    def alerts(self, start: int, end: int) -> list[AlertEvent]:
        start, end = (min(t, INFLUX_LAST_MS) for t in (start, end))
        series = self.query(
            f'SELECT "rule", "subject", "event", "kind", "since", "detail", "value" '
            f"FROM {_ident(ALERTS)} WHERE time >= {int(start)}ms AND time < {int(end)}ms "
            f"ORDER BY time"
        )
        return [
            AlertEvent(
                int(v[0]),
                str(v[1]),
                str(v[2]),
                v[3],
                str(v[4]),
                int(v[5]),
                str(v[6] or ""),
                None if v[7] is None else float(v[7]),
            )
            for s in series
            for v in s["values"]
        ]

    def write_attempts(self, attempts: Iterable[Attempt]) -> int:
        attempts = list(attempts)
        if attempts:
            self._write_lines(attempt_lines(attempts))
        return len(attempts)

    def attempts(self, run: str) -> list[Attempt]:
        series = self.query(
            f'SELECT "participant", "question", "given", "verdict", "hint" '
            f"FROM {_ident(ATTEMPTS)} WHERE {_ident('run')} = {_literal(run)} ORDER BY time"
        )
        return [
            Attempt(int(v[0]), run, str(v[1]), str(v[2]), str(v[3]), v[4], bool(v[5]))
            for s in series
            for v in s["values"]
        ]

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> InfluxStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
