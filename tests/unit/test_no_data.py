"""domain.md §5 "No data is not downtime": a window with nothing observed has null figures and the
flag `no_data`; every view shows coverage below 95 % and "no data" where a figure is null."""

from __future__ import annotations

import math

from fieldlab.domain.samples import Sample
from fieldlab.i18n import formats
from fieldlab.kpi.output import render_table, shift_figures, to_json
from fieldlab.reports.build import build_report
from fieldlab.reports.render import sections, to_html
from fieldlab.reports.week import Week
from fieldlab.store import SqliteStore
from tests.helpers import AMS, MIN, Machine, local, oee, site

SITE = """
calendar:
  shifts: [{days: [mon, tue, wed, thu, fri], start: "06:00", end: "14:00"}]
machines:
  press-1: {ideal_cycle_time_s: 20}
  lathe-1: {ideal_cycle_time_s: 30}
"""


def test_a_window_before_the_first_sample_is_no_data_not_downtime():
    t0 = local("2026-03-09 06:00")
    m = Machine().state(t0, "running").at(t0, "count_total", 0).at(t0 + MIN, "count_total", 3)
    r = oee(m, local("2026-03-02 00:00"), local("2026-03-07 00:00"), site(SITE), now=t0 + MIN)
    assert r.planned_s == 5 * 8 * 3600 and r.coverage == 0
    assert (r.availability, r.performance, r.oee) == (None, None, None)
    assert "no_data" in r.flags
    j = to_json(r, AMS)
    assert j["oee"] is None and j["availability"] is None and j["coverage"] == 0.0
    assert shift_figures(r, "early", t0)["no_data"] is True
    assert shift_figures(r, "early", t0)["downtime_s"] is None
    table = render_table([r], AMS, "nl")
    row = table.splitlines()[6]
    assert "geen data" in row and "0,0 %" in row and "NaN" not in table


def test_a_partly_observed_window_keeps_its_figures_with_coverage():
    t0 = local("2026-03-02 06:00")
    m = Machine().state(t0, "offline").state(t0 + 4 * 60 * MIN, "running")
    r = oee(m, t0, t0 + 8 * 60 * MIN, site(SITE), now=t0 + 8 * 60 * MIN)
    assert r.coverage == 0.5 and r.availability == 0.5 and "no_data" not in r.flags


def test_no_figure_is_ever_nan():
    for lang in ("en", "nl"):
        assert formats.percent(math.nan, lang) == formats.NONE
        assert formats.number(float("nan"), lang) == formats.NONE


def _store(tmp_path, samples):
    store = SqliteStore(tmp_path / "fieldlab.db")
    store.write(samples)
    return store


def test_the_report_of_a_week_before_the_kit_says_so_in_one_line(tmp_path):
    cfg = site(SITE)
    t0 = local("2026-03-09 06:00")  # the kit started the week after
    store = _store(tmp_path, [Sample(t0, m, "state", "running") for m in ("press-1", "lathe-1")])
    report = build_report(store, cfg, Week(2026, 10), now=t0 + 60 * MIN)
    for lang, words in (("en", "No data for this week"), ("nl", "Geen data voor deze week")):
        _, _, parts = sections(report, lang)
        assert len(parts) == 1 and parts[0].text[0].startswith(words)
        html = to_html(report, lang)
        assert words in html and "945" not in html and "Downtime" not in html
    store.close()


def test_the_report_of_a_partly_observed_week_says_how_much_was_observed(tmp_path):
    cfg = site(SITE)
    t0 = local("2026-03-06 06:00")  # Friday: one day of five observed
    samples = [Sample(t0, m, "state", "running") for m in ("press-1", "lathe-1")]
    samples += [Sample(t0 + 8 * 60 * MIN, m, "state", "offline") for m in ("press-1", "lathe-1")]
    store = _store(tmp_path, samples)
    report = build_report(store, cfg, Week(2026, 10), now=local("2026-03-09 00:00"))
    _, _, parts = sections(report, "nl")
    assert any("20,0 % van de geplande tijd" in line for line in parts[0].text), parts[0].text
    table = parts[1].table
    assert table is not None and table.head[-1] == "Waargenomen"
    assert [row[-1] for row in table.rows] == ["20,0 %", "20,0 %"]
    _, _, parts = sections(report, "en")
    assert any("Observed 20.0 % of the planned time" in line for line in parts[0].text)
    store.close()
