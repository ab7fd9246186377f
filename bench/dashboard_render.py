"""Benchmark: overview and machine pages for 20 machines × 30 days, rendered with Streamlit's
AppTest (goal: under 1.5 s each). Baseline in the same process: a page with only a title.

    python -m bench.dashboard_render [--json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import tempfile
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from bench.oee_sqlite import build

PAGES = Path(__file__).resolve().parent.parent / "dashboards" / "pages"


def timed(page: Path, setup) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(cold, warm) seconds for a page with the 30-day period chosen; cold starts with empty
    caches."""
    import streamlit as st

    st.cache_data.clear()
    at = AppTest.from_file(str(page), default_timeout=120).run()
    at.sidebar.selectbox(key="period_en").set_value("custom").run()
    at.sidebar.date_input(key="from").set_value(dt.date(2026, 3, 2))
    t0 = time.perf_counter()
    at.sidebar.date_input(key="to").set_value(dt.date(2026, 3, 31)).run()
    cold = time.perf_counter() - t0
    setup(at)
    t0 = time.perf_counter()
    at.run()
    warm = time.perf_counter() - t0
    assert not at.exception, [e.value for e in at.exception]
    return cold, warm


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        rows, site_text = build(db, 20, 30)
        site = Path(tmp) / "site.yaml"
        site.write_text(site_text + f"store: sqlite:///{db}\n")
        os.environ["FIELDLAB_CONFIG"] = str(site)
        os.environ["FIELDLAB_LANG"] = "en"
        trivial = Path(tmp) / "trivial.py"
        trivial.write_text("import streamlit as st\nst.title('baseline')\n")
        t0 = time.perf_counter()
        AppTest.from_file(str(trivial)).run()
        base = time.perf_counter() - t0
        overview = timed(PAGES / "overview.py", lambda at: None)
        machine = timed(PAGES / "machine.py", lambda at: None)
    result = {
        "machines": 20,
        "days": 30,
        "samples": rows,
        "baseline_trivial_page_s": round(base, 3),
        "overview_cold_s": round(overview[0], 3),
        "overview_warm_s": round(overview[1], 3),
        "machine_cold_s": round(machine[0], 3),
        "machine_warm_s": round(machine[1], 3),
        "goal_s": 1.5,
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"data: 20 machines × 30 days, {rows:,} samples; period: the 30 days")
    print(f"overview page: {overview[0]:.2f} s cold, {overview[1]:.2f} s cached (goal < 1.5 s)")
    print(f"machine page:  {machine[0]:.2f} s cold, {machine[1]:.2f} s cached (goal < 1.5 s)")
    print(
        f"baseline, a page with only a title: {base:.2f} s "
        f"(ratios {overview[0] / base:.1f}× and {machine[0] / base:.1f}× cold)"
    )


if __name__ == "__main__":
    main()
