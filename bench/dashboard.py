"""Benchmark: overview and machine pages for 20 machines × 30 days, rendered with Streamlit's
AppTest (goal: under 1.5 s each). Baseline in the same process: a page with only a title.

    fieldlab bench dashboard [--json]
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from streamlit.logger import set_log_level
from streamlit.testing.v1 import AppTest

import fieldlab.dashboards
from fieldlab.bench.base import Progress, Result
from fieldlab.bench.oee import build

PAGES = Path(fieldlab.dashboards.__file__).resolve().parent / "views"


def timed(
    page: Path,
    setup: Callable[[AppTest], object],
    first: dt.date = dt.date(2026, 3, 2),
    last: dt.date = dt.date(2026, 3, 31),
) -> tuple[float, float]:
    """(cold, warm) seconds for a page with the days ``first``..``last`` chosen; cold starts
    with empty caches."""
    import streamlit as st

    st.cache_data.clear()
    at = AppTest.from_file(str(page), default_timeout=600).run()
    at.sidebar.selectbox(key="period_en").set_value("custom").run()
    at.sidebar.date_input(key="from").set_value(first)
    t0 = time.perf_counter()
    at.sidebar.date_input(key="to").set_value(last).run()
    cold = time.perf_counter() - t0
    setup(at)
    t0 = time.perf_counter()
    at.run()
    warm = time.perf_counter() - t0
    assert not at.exception, [e.value for e in at.exception]
    return cold, warm


@contextlib.contextmanager
def pages_on(db: Path, site_text: str) -> Iterator[float]:
    """The pages reading `db` with `site_text` (in English) while inside; yields the seconds
    of the baseline, a page with only a title."""
    site = db.parent / "site.yaml"
    site.write_text(site_text + f"store: sqlite:///{db}\n")
    saved = {k: os.environ.get(k) for k in ("FIELDLAB_CONFIG", "FIELDLAB_LANG")}
    # AppTest runs pages as __main__; put ours back afterwards, or a later benchmark's
    # spawned processes (multiprocessing re-imports __main__) would run a page.
    main_module = sys.modules["__main__"]
    set_log_level("error")  # its bare-mode warnings are noise here
    os.environ["FIELDLAB_CONFIG"] = str(site)
    os.environ["FIELDLAB_LANG"] = "en"
    try:
        trivial = db.parent / "trivial.py"
        trivial.write_text("import streamlit as st\nst.title('baseline')\n")
        t0 = time.perf_counter()
        AppTest.from_file(str(trivial)).run()
        yield time.perf_counter() - t0
    finally:
        sys.modules["__main__"] = main_module
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run(progress: Progress) -> Result:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        progress("building 20 machines × 30 days of samples in SQLite")
        rows, site_text = build(db, 20, 30)
        progress("baseline: a page with only a title")
        with pages_on(db, site_text) as base:
            progress("overview page, the 30 days chosen")
            overview = timed(PAGES / "overview.py", lambda at: None)
            progress("machine page, the 30 days chosen")
            machine = timed(PAGES / "machine.py", lambda at: None)
    return {
        "machines": 20,
        "days": 30,
        "samples": rows,
        "baseline_trivial_page_s": round(base, 3),
        "overview_cold_s": round(overview[0], 3),
        "overview_warm_s": round(overview[1], 3),
        "machine_cold_s": round(machine[0], 3),
        "machine_warm_s": round(machine[1], 3),
        "ratio_overview_vs_baseline": round(overview[0] / base, 1),
        "ratio_machine_vs_baseline": round(machine[0] / base, 1),
        "goals": {"overview_cold_s": "< 1.5", "machine_cold_s": "< 1.5"},
        "met": overview[0] < 1.5 and machine[0] < 1.5,
    }


def report(r: Result) -> list[str]:
    return [
        f"data: 20 machines × 30 days, {r['samples']:,} samples; period: the 30 days",
        f"overview page: {r['overview_cold_s']:.2f} s cold, {r['overview_warm_s']:.2f} s cached "
        "(goal < 1.5 s)",
        f"machine page:  {r['machine_cold_s']:.2f} s cold, {r['machine_warm_s']:.2f} s cached "
        "(goal < 1.5 s)",
        f"baseline, a page with only a title: {r['baseline_trivial_page_s']:.2f} s (ratios "
        f"{r['ratio_overview_vs_baseline']}× and {r['ratio_machine_vs_baseline']}× cold)",
    ]
