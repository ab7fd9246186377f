"""Invariants of the OEE engine on random machine histories (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldlab.config import SiteConfig
from fieldlab.domain.states import STATES
from tests.helpers import SEC, Machine, local, oee, site

T0 = local("2026-03-02 00:00")  # a Monday
STATE_NAMES = [s.value for s in STATES]

CALENDARS = [
    "",
    'calendar: {shifts: [{days: [mon, tue, wed], start: "06:00", end: "14:00"}]}',
    """calendar:
  shifts:
    - {days: [mon, tue], start: "22:00", end: "06:00"}
    - {days: [mon, tue, wed], start: "06:00", end: "14:00"}
  breaks: [{days: [mon, tue, wed], start: "10:00", end: "10:20"}]""",
]


@st.composite
def histories(draw: st.DrawFn) -> tuple[Machine, SiteConfig, int]:
    """A machine over up to ~2.5 days: states, reasons, products, counters with resets."""
    m = Machine()
    t = T0 + draw(st.integers(0, 3600)) * SEC
    n = draw(st.integers(0, 40))
    for _ in range(n):
        m.state(t, draw(st.sampled_from(STATE_NAMES + ["running"] * 4)))
        if draw(st.booleans()):
            m.at(
                t + draw(st.integers(0, 30)) * SEC,
                "reason",
                draw(st.sampled_from(["jam", "tool_break", "", "changeover"])),
            )
        if draw(st.integers(0, 9)) == 0:
            m.at(t, "product", draw(st.sampled_from(["A", "B", "C"])))
        t += draw(st.one_of(st.integers(1, 180), st.integers(180, 4 * 3600))) * SEC
    value = {"count_total": 0, "count_scrap": 0}
    for sig in draw(st.sampled_from([("count_total", "count_scrap"), ("count_total",), ()])):
        c = T0
        for _ in range(draw(st.integers(0, 40))):
            c += draw(st.integers(1, 7200)) * SEC
            if draw(st.integers(0, 19)) == 0:
                value[sig] = draw(st.integers(0, 5))  # a reset
            else:
                value[sig] += draw(st.integers(0, 50 if sig == "count_total" else 3))
            m.at(c, sig, value[sig])
    cfg = site(
        draw(st.sampled_from(CALENDARS)) + "\nmachines: {press-1: {ideal_cycle_time_s: 20, "
        "products: {A: {ideal_cycle_time_s: 10}, B: {ideal_cycle_time_s: 40}}}}"
        + f"\noee: {{micro_stop_threshold_s: {draw(st.sampled_from([0, 60, 120, 600]))}}}"
    )
    end_of_data = max(t, max((s.ts for s in m.samples), default=T0)) + 1
    return m, cfg, end_of_data


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
WINDOW = st.integers(0, 60 * 3600)


@SETTINGS
@given(histories(), WINDOW, WINDOW)
def test_durations_add_up_and_are_never_negative(h, a, b):
    m, cfg, now = h
    start, end = T0 + min(a, b) * SEC, T0 + max(a, b) * SEC + SEC
    for dialect in ("classic", "iso"):
        r = oee(m, start, end, cfg, now=now, dialect=dialect)
        assert r.planned_s >= 0 and r.run_s >= 0 and r.downtime_s >= 0 and r.small_stop_s >= 0
        assert r.run_s + r.downtime_s == pytest.approx(r.planned_s)
        assert r.downtime_s + r.small_stop_s <= r.planned_s + 1e-6
        assert sum(r.losses_s.values()) == pytest.approx(r.downtime_s)
        assert sum(x["downtime_s"] for x in r.reasons) == pytest.approx(r.downtime_s)
        assert r.end - r.start <= end - start
        assert r.planned_s <= (r.end - r.start) / 1000 + 1e-9  # seconds as floats
        for v in (r.total, r.good, r.scrap):
            assert v is None or v >= 0


@SETTINGS
@given(histories(), WINDOW, WINDOW)
def test_oee_is_a_times_p_times_q_and_ideal_time_times_quality_over_planned(h, a, b):
    m, cfg, now = h
    start, end = T0 + min(a, b) * SEC, T0 + max(a, b) * SEC + SEC
    for dialect in ("classic", "iso"):
        r = oee(m, start, end, cfg, now=now, dialect=dialect)
        if r.no_data:  # domain.md §5: nothing observed, no figures (and flagged)
            assert r.coverage == 0 and "no_data" in r.flags
            assert (r.availability, r.performance, r.oee) == (None, None, None)
            continue
        if r.oee is None:
            assert r.planned_s == 0 or r.ideal_s is None
            continue
        q = 1.0 if r.quality is None else r.quality
        assert r.oee == pytest.approx(r.ideal_s * q / r.planned_s)
        if r.availability is not None and r.performance is not None:
            assert r.oee == pytest.approx(r.availability * r.performance * q)


@SETTINGS
@given(histories(), WINDOW, WINDOW)
def test_with_one_ideal_cycle_time_oee_is_ideal_time_of_good_units_over_planned(h, a, b):
    m, _, now = h
    m.samples = [s for s in m.samples if s.signal != "product"]
    cfg = site("machines: {press-1: {ideal_cycle_time_s: 20}}")
    start, end = T0 + min(a, b) * SEC, T0 + max(a, b) * SEC + SEC
    r = oee(m, start, end, cfg, now=now)
    if r.oee is not None and r.good is not None:
        assert r.oee == pytest.approx(r.good * 20 / r.planned_s)


@SETTINGS
@given(histories(), st.integers(0, 60 * 3600), st.integers(0, 60 * 3600), st.integers(0, 60 * 3600))
def test_splitting_a_window_gives_the_same_sums(h, a, b, c):
    m, cfg, now = h
    lo, mid, hi = (T0 + x * SEC for x in sorted((a, b, c)))
    whole = oee(m, lo, hi, cfg, now=now)
    left = oee(m, lo, mid, cfg, now=now)
    right = oee(m, mid, hi, cfg, now=now)
    for key in ("planned_s", "run_s", "downtime_s", "small_stop_s"):
        assert getattr(left, key) + getattr(right, key) == pytest.approx(getattr(whole, key))
    # Counters that disagree (more scrap than total) are clamped and flagged, which cannot add
    # up; the total still must.
    consistent = all("counts_inconsistent" not in r.flags for r in (whole, left, right))
    for key in ("total", "good", "scrap") if consistent else ("total",):
        parts = (getattr(left, key), getattr(right, key))
        if getattr(whole, key) is None:
            assert parts == (None, None)
        else:
            assert sum(p or 0 for p in parts) == getattr(whole, key)
    if whole.ideal_s is not None:
        assert (left.ideal_s or 0) + (right.ideal_s or 0) == pytest.approx(whole.ideal_s)
    for cat, v in whole.losses_s.items():
        assert left.losses_s[cat] + right.losses_s[cat] == pytest.approx(v)


@SETTINGS
@given(histories(), WINDOW, WINDOW)
def test_coverage_is_a_share_and_complete_observation_is_full_coverage(h, a, b):
    """0 ≤ coverage ≤ 1, null without planned time; with every `offline` renamed `idle` and
    the first state before the window, the machine is observed all the time: coverage 1."""
    m, cfg, now = h
    start, end = T0 + min(a, b) * SEC, T0 + max(a, b) * SEC + SEC
    r = oee(m, start, end, cfg, now=now)
    if r.planned_s == 0:
        assert r.coverage is None
        return
    assert 0.0 <= r.coverage <= 1.0
    assert r.observed_s <= r.planned_s + 1e-9
    seen = Machine().state(T0 - SEC, "running")
    for s in m.samples:
        value = "idle" if s.signal == "state" and s.value == "offline" else s.value
        seen.at(s.ts, s.signal, value)
    full = oee(seen, start, end, cfg, now=now)
    assert full.coverage == 1.0
    assert "counts_across_gap" not in full.flags
