"""Benchmark: OEE for 20 machines × 30 days read from SQLite (goal: under 1 s).

Data: the seeded synthetic generator, a state change every few minutes and one counter sample
per cycle (cycle times 20–240 s). Baseline in the same process: reading the same rows from
SQLite into Python without computing anything, so the ratio shows what the engine adds.
Also times 1, 3, 10 and 30 days to show how the cost grows (it should be linear).

    fieldlab bench oee [--json]
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

from fieldlab.bench.base import Progress, Result
from fieldlab.config import parse_site_config
from fieldlab.kpi.query import store_oee
from fieldlab.simulators.synthetic import Profile, synthetic_samples
from fieldlab.store import SqliteStore

T = TypeVar("T", float, tuple[float, int])
DAY = 86_400_000
START = 1772406000000  # 2026-03-02T00:00+01:00, a Monday
CYCLES = (20, 30, 45, 60, 90, 120, 240)

SITE = """
timezone: Europe/Amsterdam
calendar:
  shifts:
    - {days: [mon, tue, wed, thu, fri], start: "06:00", end: "14:00"}
    - {days: [mon, tue, wed, thu, fri], start: "14:00", end: "22:00"}
    - {days: [mon, tue, wed, thu], start: "22:00", end: "06:00"}
  breaks:
    - {days: [mon, tue, wed, thu, fri], start: "10:00", end: "10:30"}
machines:
"""


def site_text(machines: int) -> str:
    """The benchmark site: the calendar above and machines m00… with their cycle times."""
    return SITE + "".join(
        f"  m{i:02d}: {{ideal_cycle_time_s: {CYCLES[i % len(CYCLES)]}}}\n" for i in range(machines)
    )


def build(path: Path, machines: int, days: int) -> tuple[int, str]:
    text = site_text(machines)
    site = parse_site_config(text)
    end = START + days * DAY
    planned = site.shift_calendar().planned(START, end)
    rows = 0
    with SqliteStore(path) as store:
        for i in range(machines):
            samples = synthetic_samples(
                f"m{i:02d}", Profile(CYCLES[i % len(CYCLES)]), START, end, i, planned
            )
            for k in range(0, len(samples), 50_000):
                rows += store.write(samples[k : k + 50_000])
    return rows, text


def time_oee(path: Path, text: str, machines: int, days: int) -> float:
    site = parse_site_config(text)
    end = START + days * DAY
    with SqliteStore(path, readonly=True) as store:
        t0 = time.perf_counter()
        for i in range(machines):
            store_oee(store, site, f"m{i:02d}", START, end, now=START + 30 * DAY + 1)
        return time.perf_counter() - t0


def time_raw_read(path: Path, days: int) -> float:
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    t0 = time.perf_counter()
    db.execute(
        "SELECT ts, value FROM samples WHERE ts >= ? AND ts < ?", (START, START + days * DAY)
    ).fetchall()
    elapsed = time.perf_counter() - t0
    db.close()
    return elapsed


def best(fn: Callable[[], T], repeat: int = 3) -> T:
    """The fastest of ``repeat`` runs (a figure, or a (seconds, rows) pair)."""
    return min((fn() for _ in range(repeat)), key=lambda r: r[0] if isinstance(r, tuple) else r)


def run(progress: Progress, machines: int = 20, days: int = 30) -> Result:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        progress(f"building {machines} machines × {days} days of samples in SQLite")
        t0 = time.perf_counter()
        rows, text = build(path, machines, days)
        build_s = time.perf_counter() - t0
        size_mb = path.stat().st_size / 1e6
        growth = {}
        for d in sorted({1, 3, 10, days}):
            if d <= days:
                progress(f"OEE for every machine over {d} day(s), best of 3")
                growth[d] = best(partial(time_oee, path, text, machines, d))
        oee_s = growth[days]
        raw_s = best(lambda: time_raw_read(path, days))
    per_day = {d: s / d for d, s in growth.items()}
    return {
        "machines": machines,
        "days": days,
        "rows": rows,
        "db_mb": round(size_mb, 1),
        "build_s": round(build_s, 2),
        "oee_s": round(oee_s, 3),
        "baseline_raw_read_s": round(raw_s, 3),
        "ratio_vs_raw_read": round(oee_s / raw_s, 2),
        "growth_s_by_days": {str(d): round(s, 3) for d, s in growth.items()},
        # linear or better: the cost per day at 30 days is no more than at the shortest window
        "per_day_ratio_longest_vs_shortest": round(per_day[days] / per_day[min(per_day)], 2),
        "goals": {"oee_s": "< 1.0", "per_day_ratio_longest_vs_shortest": "<= 1.2"},
        "met": oee_s < 1.0 and per_day[days] <= 1.2 * per_day[min(per_day)],
    }


def report(r: Result) -> list[str]:
    growth = r["growth_s_by_days"]
    return [
        f"data: {r['machines']} machines × {r['days']} days, {r['rows']:,} samples, "
        f"{r['db_mb']:.1f} MB SQLite (built in {r['build_s']:.1f} s)",
        f"oee, all machines: {r['oee_s']:.3f} s (goal < 1 s)",
        f"baseline, raw read of the same rows: {r['baseline_raw_read_s']:.3f} s; "
        f"ratio {r['ratio_vs_raw_read']:.2f}×",
        "growth: "
        + ", ".join(f"{d} d {s:.3f} s" for d, s in growth.items())
        + f" (cost per day, longest vs shortest window: {r['per_day_ratio_longest_vs_shortest']}×;"
        " goal: linear or better)",
    ]
