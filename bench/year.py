"""Benchmark: a year of 20 machines in SQLite, as the gateway would leave it.

States, reasons and counts from the seeded synthetic generator (a state change every few
minutes, a count per cycle), and 10 process values per machine read at 1 Hz through the
gateway's deadband (the OPC UA source's `deadband:`: a value is reported when it moved more
than the deadband from the last one reported). Simulating 6.3 billion readings one by one
would take hours, so each kind of value is first calibrated: an hour of its 1 Hz signal
(set point, slow drift, sensor noise) goes through the deadband rule, which gives how often it
reports while the machine runs; the year is then drawn with those intervals over the machine's
running time (values move while it runs and hold while it stands), moving by just over the
deadband each report, as a deadband's output does.

The year is written in 10-day parts, and after each part the store's retention
(`retention: {process_values_raw_days: N}`, SqliteStore.thin) runs as the gateway runs it, so
the file is what a year of the gateway leaves. Measured: size on disk, the rows, `fieldlab oee`
for every machine over the year and over one day against a raw read of the rows it reads
(goal ≤ 3×), and the dashboard's overview with the year chosen.

    fieldlab bench year [--json]
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import tempfile
import time
from pathlib import Path

import numpy as np

from fieldlab.bench.base import Progress, Result
from fieldlab.bench.oee import CYCLES, START, best
from fieldlab.bench.oee import site_text as site_for
from fieldlab.config import parse_site_config
from fieldlab.domain.history import Series
from fieldlab.domain.samples import Sample, from_ms
from fieldlab.kpi.query import store_oee
from fieldlab.simulators.synthetic import Profile, synthetic_samples
from fieldlab.store import SqliteStore

DAY = 86_400_000
PART_DAYS = 10
#: name, set point, slow drift per s (AR(1) step σ), sensor noise σ, deadband (absolute): the
#: deadband set as an engineer sets it, about four times the sensor's noise, so that noise alone
#: seldom reports and drift does
KINDS: tuple[tuple[str, float, float, float, float], ...] = (
    ("temp_c", 65.0, 0.02, 0.05, 0.2),
    ("oil_temp_c", 45.0, 0.01, 0.03, 0.15),
    ("coolant_temp_c", 22.0, 0.01, 0.03, 0.12),
    ("pressure_bar", 6.0, 0.005, 0.02, 0.08),
    ("spindle_rpm", 3000.0, 1.0, 3.0, 12.0),
    ("current_a", 12.0, 0.05, 0.3, 1.2),
    ("vibration_mm_s", 2.5, 0.01, 0.2, 0.8),
    ("feed_mm_min", 800.0, 0.5, 1.0, 5.0),
    ("air_flow_l_min", 120.0, 0.1, 0.8, 3.2),
    ("humidity_pct", 45.0, 0.01, 0.05, 1.0),
)


def deadband(values: np.ndarray, band: float) -> list[int]:
    """Indices an absolute deadband reports: the first value, then each one that moved more
    than ``band`` from the last reported (the OPC UA DataChangeFilter's rule)."""
    out = [0]
    last = float(values[0])
    for i, v in enumerate(values.tolist()):
        if abs(v - last) > band:
            out.append(i)
            last = v
    return out


def calibrate(seed: int = 7, seconds: int = 3600) -> dict[str, float]:
    """Mean seconds between reports of each kind while running: its 1 Hz signal through the
    deadband rule."""
    rng = np.random.default_rng(seed)
    gaps = {}
    for name, point, drift, noise, band in KINDS:
        slow = np.zeros(seconds)
        steps = rng.normal(0, drift, seconds)
        for i in range(1, seconds):  # AR(1): drifts, and comes back to the set point
            slow[i] = 0.995 * slow[i - 1] + steps[i]
        signal = point + slow + rng.normal(0, noise, seconds)
        gaps[name] = seconds / len(deadband(signal, band))
    return gaps


def running_spans(samples: list[Sample], end: int) -> tuple[np.ndarray, np.ndarray]:
    states = [s for s in samples if s.signal == "state"]
    starts, ends = [], []
    for k, s in enumerate(states):
        if s.value == "running":
            starts.append(s.ts)
            ends.append(states[k + 1].ts if k + 1 < len(states) else end)
    return np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64)


def process_values(
    machine: str,
    spans: tuple[np.ndarray, np.ndarray],
    gaps: dict[str, float],
    rng: np.random.Generator,
) -> list[Sample]:
    """The deadband's reports of each kind over the machine's running time."""
    starts, ends = spans
    lengths = (ends - starts) // 1000  # whole seconds of running
    cum = np.concatenate(([0], np.cumsum(lengths)))
    total = int(cum[-1])
    out: list[Sample] = []
    for name, point, _, _, band in KINDS:
        mean = gaps[name]
        n = int(total / mean * 1.1) + 10
        offsets = np.cumsum(np.floor(rng.exponential(max(mean - 1, 0.01), n)) + 1).astype(np.int64)
        offsets = offsets[offsets < total]
        span = np.searchsorted(cum, offsets, side="right") - 1
        ts = starts[span] + (offsets - cum[span]) * 1000
        walk = np.cumsum(
            rng.choice([-1.0, 1.0], offsets.size) * (1 + 0.1 * rng.random(offsets.size))
        )
        folded = 20 - np.abs(np.mod(walk + 20, 80) - 40)  # a walk kept within ±20 deadbands
        values = np.round(point + band * folded, 4)
        out.extend(Sample(int(t), machine, name, float(v)) for t, v in zip(ts, values, strict=True))
    return out


def oee_seconds(store: SqliteStore, site_text: str, machines: int, start: int, end: int) -> float:
    site = parse_site_config(site_text)
    t0 = time.perf_counter()
    for i in range(machines):
        store_oee(store, site, f"m{i:02d}", start, end, now=end)
    return time.perf_counter() - t0


def oee_reads(
    store: SqliteStore, site_text: str, machines: int, start: int, end: int
) -> list[tuple[str, str, int, int]]:
    """The reads `fieldlab oee` makes for every machine over ``[start, end)``: (machine,
    signal, from, to), the states from before the window and the carried-in values included
    (an episode is judged by its whole length, domain.md §5)."""
    reads: list[tuple[str, str, int, int]] = []
    read = store.read

    def recording(machine: str, signal: str, lo: int, hi: int) -> Series:
        reads.append((machine, signal, lo, hi))
        return read(machine, signal, lo, hi)

    store.read = recording  # type: ignore[method-assign,assignment]
    try:
        oee_seconds(store, site_text, machines, start, end)
    finally:
        del store.read  # the class's own again
    return reads


def raw_read_seconds(path: Path, reads: list[tuple[str, str, int, int]]) -> tuple[float, int]:
    """A raw read of the rows `fieldlab oee` reads: the same reads (`oee_reads`), each the value
    carried in and the rows of its range, straight from SQLite with nothing made of them."""
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    ids = {(m, s): i for i, m, s in db.execute("SELECT id, machine, signal FROM series")}
    t0 = time.perf_counter()
    rows = 0
    for machine, signal, lo, hi in reads:
        sid = ids.get((machine, signal))
        if sid is None:
            continue
        rows += len(
            db.execute(
                "SELECT ts, value FROM samples WHERE series = ? AND ts < ? "
                "ORDER BY ts DESC LIMIT 1",
                (sid, lo),
            ).fetchall()
        )
        rows += len(
            db.execute(
                "SELECT ts, value FROM samples WHERE series = ? AND ts >= ? AND ts < ?",
                (sid, lo, hi),
            ).fetchall()
        )
    elapsed = time.perf_counter() - t0
    db.close()
    return elapsed, rows


def build(
    path: Path, machines: int, days: int, raw_days: int, period_min: int, progress: Progress
) -> tuple[str, dict]:
    text = site_for(machines)
    site = parse_site_config(text)
    end = START + days * DAY
    planned = site.shift_calendar().planned(START, end)
    gaps = calibrate()
    info: dict = {"report_interval_s": {k: round(v, 1) for k, v in gaps.items()}}
    rng = np.random.default_rng(11)
    raw_rows = 0
    other_rows = 0
    bytes_per_raw_row = None
    thin_s = 0.0
    with SqliteStore(path) as store:
        per_machine = []
        for i in range(machines):
            m = f"m{i:02d}"
            samples = synthetic_samples(m, Profile(CYCLES[i % len(CYCLES)]), START, end, i, planned)
            stamps = np.fromiter((s.ts for s in samples), dtype=np.int64, count=len(samples))
            per_machine.append((samples, stamps, running_spans(samples, end)))
            progress(f"{m}: {len(samples):,} state, reason and count samples for {days} days")
        for part in range(0, days, PART_DAYS):
            lo, hi = START + part * DAY, START + min(part + PART_DAYS, days) * DAY
            batch: list[Sample] = []
            for i, (samples, stamps, spans) in enumerate(per_machine):
                keep = (spans[1] > lo) & (spans[0] < hi)
                clipped = (np.maximum(spans[0][keep], lo), np.minimum(spans[1][keep], hi))
                values = process_values(f"m{i:02d}", clipped, gaps, rng)
                raw_rows += len(values)
                a, b = np.searchsorted(stamps, [lo, hi])  # sorted by time
                own = samples[a:b]
                other_rows += len(own)
                batch += own + values
            for k in range(0, len(batch), 200_000):
                store.write(batch[k : k + 200_000])
            if bytes_per_raw_row is None and hi - START >= raw_days * DAY:
                # before any thinning: what a raw row costs in this file
                bytes_per_raw_row = path.stat().st_size / (raw_rows + other_rows)
            t0 = time.perf_counter()
            store.thin(hi - raw_days * DAY, period_ms=period_min * 60_000)
            thin_s += time.perf_counter() - t0
            progress(
                f"day {min(part + PART_DAYS, days)} of {days}: {raw_rows:,} process values read, "
                f"file {path.stat().st_size / 1e6:,.0f} MB"
            )
        live = store._db.execute(
            "SELECT (page_count - freelist_count) * page_size FROM pragma_page_count(), "
            "pragma_freelist_count(), pragma_page_size()"
        ).fetchone()[0]
        rows = store._db.execute("SELECT count(*) FROM samples").fetchone()[0]
    info.update(
        process_values_read=raw_rows,
        other_samples=other_rows,
        rows_kept=rows,
        thin_s=round(thin_s, 1),
        live_mb=round(live / 1e6),
        raw_year_mb_estimate=round((raw_rows + other_rows) * (bytes_per_raw_row or 0) / 1e6),
    )
    return text, info


def overview_seconds(path: Path, site_text: str, days: int) -> tuple[float, float]:
    """The overview page with the whole period chosen, cold, and a title-only page."""
    from fieldlab.bench.dashboard import PAGES, pages_on, timed

    first = from_ms(START).astimezone().date()
    with pages_on(path, site_text) as base:
        cold, _ = timed(
            PAGES / "overview.py", lambda at: None, first, first + dt.timedelta(days=days - 1)
        )
    return cold, base


def run(
    progress: Progress,
    machines: int = 20,
    days: int = 365,
    raw_days: int = 30,
    aggregate_minutes: int = 15,
) -> Result:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "year.db"
        t0 = time.perf_counter()
        site_text, info = build(path, machines, days, raw_days, aggregate_minutes, progress)
        build_s = time.perf_counter() - t0
        size_mb = path.stat().st_size / 1e6
        end = START + days * DAY
        day = (START + (days // 2) * DAY, START + (days // 2 + 1) * DAY)  # a day mid-year
        with SqliteStore(path, readonly=True) as store:
            progress(f"fieldlab oee for every machine over the {days} days, best of 3")
            oee_year = best(lambda: oee_seconds(store, site_text, machines, START, end))
            progress("and over one day in the middle, best of 3")
            oee_day = best(lambda: oee_seconds(store, site_text, machines, *day))
            reads_year = oee_reads(store, site_text, machines, START, end)
            reads_day = oee_reads(store, site_text, machines, *day)
        raw_year, rows_year = best(lambda: raw_read_seconds(path, reads_year))
        raw_day, rows_day = best(lambda: raw_read_seconds(path, reads_day))
        progress(f"the overview page with the {days} days chosen (Streamlit AppTest, cold)")
        overview, base = overview_seconds(path, site_text, days)
    result: Result = {
        "machines": machines,
        "days": days,
        "raw_days": raw_days,
        "aggregate_minutes": aggregate_minutes,
        **info,
        "db_mb": round(size_mb),
        "build_s": round(build_s, 1),
        "oee_year_s": round(oee_year, 3),
        "raw_read_year_s": round(raw_year, 3),
        "rows_oee_reads_year": rows_year,
        "ratio_year_vs_raw_read": round(oee_year / raw_year, 2),
        "oee_day_s": round(oee_day, 4),
        "raw_read_day_s": round(raw_day, 4),
        "ratio_day_vs_raw_read": round(oee_day / raw_day, 2),
        "overview_year_cold_s": round(overview, 2),
        "baseline_title_page_s": round(base, 2),
        "goals": {
            "db_mb": "<= 1000",
            "ratio_year_vs_raw_read": "<= 3",
            "ratio_day_vs_raw_read": "<= 3",
        },
    }
    result["met"] = (
        result["db_mb"] <= 1000
        and result["ratio_year_vs_raw_read"] <= 3
        and result["ratio_day_vs_raw_read"] <= 3
    )
    return result


def report(r: Result) -> list[str]:
    gaps = ", ".join(f"{k} {v} s" for k, v in r["report_interval_s"].items())
    return [
        f"{r['machines']} machines × {r['days']} days; 10 process values at 1 Hz through the "
        f"deadband report while running every: {gaps}",
        f"process values read: {r['process_values_read']:,}; states, reasons, counts: "
        f"{r['other_samples']:,}; rows kept with process values raw for {r['raw_days']} days, "
        f"then {r['aggregate_minutes']}-minute aggregates: {r['rows_kept']:,} (retention passes "
        f"{r['thin_s']} s in all)",
        f"size on disk: {r['db_mb']:,} MB ({r['live_mb']:,} MB in use; goal ≤ 1,000 MB); "
        f"all raw it would be about {r['raw_year_mb_estimate']:,} MB",
        f"fieldlab oee, every machine, all {r['days']} days: {r['oee_year_s']:.2f} s; "
        f"a raw read of the {r['rows_oee_reads_year']:,} rows it reads: "
        f"{r['raw_read_year_s']:.2f} s = {r['ratio_year_vs_raw_read']:.2f}× (goal ≤ 3×)",
        f"one day: {r['oee_day_s']:.3f} s; raw read {r['raw_read_day_s']:.4f} s = "
        f"{r['ratio_day_vs_raw_read']:.2f}× (goal ≤ 3×)",
        f"overview page with the {r['days']} days chosen: {r['overview_year_cold_s']:.2f} s "
        f"cold (a title-only page {r['baseline_title_page_s']:.2f} s)",
    ]
