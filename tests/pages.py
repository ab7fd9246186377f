"""Dashboard pages in-process (Streamlit's AppTest) on a site with known samples."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from streamlit.testing.v1 import AppTest

PAGES = Path(__file__).resolve().parent.parent / "dashboards" / "views"


SITE = """\
timezone: Europe/Amsterdam
store: sqlite:///fieldlab.db
calendar:
  shifts:
    - {name: early, days: [mon, tue, wed, thu, fri], start: "06:00", end: "14:00"}
    - {name: late, days: [mon, tue, wed, thu, fri], start: "14:00", end: "22:00"}
  breaks:
    - {days: [mon, tue, wed, thu, fri], start: "10:00", end: "10:30"}
machines:
  press-1: {name: Press, ideal_cycle_time_s: 20, products: {A: {ideal_cycle_time_s: 15}}}
  cnc-1: {name: CNC, ideal_cycle_time_s: 90}
reasons: [jam, tool_break, material, no_operator]
"""


def page(name: str, lang: str = "en") -> AppTest:
    """A page with the period set to 2026-03-02 … 2026-03-03 (the whole of both days), in the
    language FIELDLAB_LANG chose (``lang``: the period widget's key carries it)."""
    at = AppTest.from_file(str(PAGES / f"{name}.py"), default_timeout=60).run()
    at.sidebar.selectbox(key=f"period_{lang}").set_value("custom").run()
    at.sidebar.date_input(key="from").set_value(dt.date(2026, 3, 2))
    at.sidebar.date_input(key="to").set_value(dt.date(2026, 3, 3)).run()
    assert not at.exception, [e.value for e in at.exception]
    return at
