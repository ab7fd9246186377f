"""Every OEE rule of domain.md §5, each with numbers worked out by hand."""

import pytest

from tests.helpers import MIN, SEC, Machine, local, oee, site

WORKED_SITE = """
timezone: Europe/Amsterdam
calendar:
  shifts: [{days: [mon], start: "06:00", end: "14:00"}]
  breaks: [{days: [mon], start: "10:00", end: "10:45"}]
machines:
  press-1: {ideal_cycle_time_s: 30}
"""


def worked_example() -> tuple[Machine, int, int]:
    """docs/domain.md's worked check: 435 min planned (8 h less a 45 min break); a 35 min breakdown;
    a 25 min changeover; 40 stops of 45 s; ideal cycle 30 s; 600 units of which 36 scrap."""
    t0 = local("2026-03-02 06:00")  # a Monday
    m = Machine().state(t0, "running")
    m.state(t0 + 60 * MIN, "fault").at(t0 + 61 * MIN, "reason", "tool_break")
    m.state(t0 + 95 * MIN, "running")
    m.state(t0 + 180 * MIN, "setup").state(t0 + 205 * MIN, "running")
    for i in range(40):  # from 11:00, one 45 s stop every 2 minutes
        m.state(t0 + 300 * MIN + i * 2 * MIN, "idle")
        m.state(t0 + 300 * MIN + i * 2 * MIN + 45 * SEC, "running")
    m.at(t0, "count_total", 0).at(t0, "count_scrap", 0)
    for i in range(1, 601):  # every 40 s: the last one at 12:40
        m.at(t0 + i * 40 * SEC, "count_total", i)
    for i in range(1, 37):
        m.at(t0 + i * MIN, "count_scrap", i)
    return m, t0, t0 + 8 * 60 * MIN


def test_worked_check_classic():
    m, start, end = worked_example()
    r = oee(m, start, end, site(WORKED_SITE))
    assert r.planned_s == 435 * 60
    assert r.downtime_s == (35 + 25) * 60
    assert r.run_s == 375 * 60
    assert r.small_stop_s == 40 * 45
    assert (r.total, r.good, r.scrap) == (600, 564, 36)
    assert r.ideal_s == 600 * 30
    assert round(r.availability, 3) == 0.862
    assert round(r.performance, 3) == 0.800
    assert round(r.quality, 3) == 0.940
    assert round(r.oee, 3) == 0.648
    assert r.losses_s["fault"] == 35 * 60 and r.losses_s["setup"] == 25 * 60
    assert r.reasons[0] == {"reason": "tool_break", "episodes": 1, "downtime_s": 2100.0}
    assert r.flags == []


def test_worked_check_iso_22400():
    m, start, end = worked_example()
    r = oee(m, start, end, site(WORKED_SITE), dialect="iso")
    assert r.apt_s == (435 - 60 - 30) * 60  # small stops leave the actual production time
    assert round(r.availability, 3) == 0.793
    assert round(r.performance, 3) == 0.870  # effectiveness
    assert round(r.oee, 3) == 0.648  # the OEE product is the same in both dialects


def test_episode_starting_before_the_window_counts_with_its_full_length():
    # A 90 s idle stop that began 60 s before the window: 30 s of it lies inside. Its full
    # length (90 s) is under the threshold, so it is a small stop, not downtime.
    m = Machine().state(0, "running").state(9 * MIN, "idle").state(9 * MIN + 90 * SEC, "running")
    r = oee(m, 10 * MIN, 20 * MIN)
    assert r.small_stop_s == 30 and r.downtime_s == 0
    # A 150 s one with only 30 s inside is downtime (its full length counts, not the 30 s).
    m = Machine().state(0, "running").state(8 * MIN, "idle").state(10 * MIN + 30 * SEC, "running")
    r = oee(m, 10 * MIN, 20 * MIN)
    assert r.downtime_s == 30 and r.small_stop_s == 0


def test_small_stop_versus_downtime_at_the_threshold():
    def run_with_stop(seconds: int) -> Machine:
        return (
            Machine().state(0, "running").state(MIN, "fault").state(MIN + seconds * SEC, "running")
        )

    under = oee(run_with_stop(119), 0, 10 * MIN)
    at = oee(run_with_stop(120), 0, 10 * MIN)
    assert (under.small_stop_s, under.downtime_s) == (119, 0)
    assert (at.small_stop_s, at.downtime_s) == (0, 120)  # "shorter than" the threshold only
    # The threshold is a setting: at 60 s the 119 s stop becomes downtime.
    assert oee(run_with_stop(119), 0, 10 * MIN, threshold=60).downtime_s == 119


def test_short_setup_is_always_downtime():
    m = Machine().state(0, "running").state(MIN, "setup").state(MIN + 30 * SEC, "running")
    r = oee(m, 0, 10 * MIN)
    assert (r.small_stop_s, r.downtime_s, r.losses_s["setup"]) == (0, 30, 30)


def test_category_is_the_state_holding_most_of_the_episode():
    # idle 2 min, fault 5 min, starved 1 min: one 8-minute episode, category fault.
    m = Machine().state(0, "running").state(MIN, "idle").state(3 * MIN, "fault")
    m.state(8 * MIN, "starved").state(9 * MIN, "running")
    r = oee(m, 0, 10 * MIN)
    assert r.downtime_s == 8 * 60
    assert r.losses_s == {
        "fault": 480.0,
        "setup": 0.0,
        "idle": 0.0,
        "starved": 0.0,
        "blocked": 0.0,
        "offline": 0.0,
    }


def test_reason_last_in_episode_wins_and_empty_clears():
    m = Machine().state(0, "running").state(MIN, "fault").at(MIN, "reason", "jam")
    m.at(2 * MIN, "reason", "tool_break").state(6 * MIN, "running")
    m.state(7 * MIN, "fault").at(7 * MIN, "reason", "jam").at(8 * MIN, "reason", "")
    m.state(11 * MIN, "running")
    m.at(12 * MIN, "reason", "ignored_while_running")
    r = oee(m, 0, 15 * MIN)
    assert r.reasons == [
        {"reason": "tool_break", "episodes": 1, "downtime_s": 300.0},
        {"reason": None, "episodes": 1, "downtime_s": 240.0},
    ]


def test_null_ratios_never_zero_never_an_exception():
    # Nothing planned (a holiday): every ratio is null.
    cfg = site('calendar: {shifts: [{days: [mon], start: "06:00", end: "14:00"}]}')
    m = Machine().state(local("2026-03-03 06:00"), "running")  # a Tuesday
    r = oee(m, local("2026-03-03 06:00"), local("2026-03-03 14:00"), cfg)
    assert r.planned_s == 0
    assert (r.availability, r.performance, r.quality, r.oee) == (None, None, None, None)
    # Planned but down the whole time: A = 0, performance null (no run time), quality null
    # (no units), OEE 0.
    m = Machine().state(0, "fault").at(0, "count_total", 5)
    r = oee(m, 0, 10 * MIN, site("machines: {press-1: {ideal_cycle_time_s: 1}}"))
    assert (r.availability, r.performance, r.quality, r.oee) == (0.0, None, None, 0.0)


def test_products_with_different_ideal_cycle_times():
    cfg = site("""
machines:
  press-1:
    ideal_cycle_time_s: 10
    products: {A-100: {ideal_cycle_time_s: 5}, B-200: {ideal_cycle_time_s: 20}}
""")
    m = Machine().state(0, "running").at(0, "count_total", 0)
    # The product in force at a delta's time decides; each change comes after the last count.
    m.at(0, "product", "A-100").at(9 * MIN, "count_total", 60)  # 60 × 5 s = 300 s
    m.at(10 * MIN, "product", "B-200").at(19 * MIN, "count_total", 90)  # 30 × 20 s = 600 s
    m.at(20 * MIN, "product", "X-1").at(29 * MIN, "count_total", 120)  # unknown: 30 × 10 s
    r = oee(m, 0, 30 * MIN, cfg)
    assert r.ideal_s == 300 + 600 + 300
    assert round(r.performance, 4) == round(1200 / 1800, 4)
    assert "unknown_product:X-1" in r.flags


@pytest.mark.parametrize(
    "present, expected, flag",
    [
        ({"count_total": 100, "count_good": 90}, (100, 90, 10, 0.9), None),
        ({"count_total": 100, "count_scrap": 10}, (100, 90, 10, 0.9), None),
        ({"count_good": 90, "count_scrap": 10}, (100, 90, 10, 0.9), None),
        ({"count_total": 100}, (100, None, None, None), "quality_assumed_1"),
        ({"count_good": 90}, (None, 90, None, None), "quality_assumed_1"),
    ],
)
def test_quality_with_only_some_counters_present(present, expected, flag):
    m = Machine().state(0, "running")
    for signal, value in present.items():
        m.at(0, signal, 0).at(5 * MIN, signal, value)
    r = oee(m, 0, 10 * MIN, site("machines: {press-1: {ideal_cycle_time_s: 3}}"))
    assert (r.total, r.good, r.scrap, r.quality) == expected
    if flag:
        assert flag in r.flags
        # OEE falls back to quality 1: ideal time of the counted units over planned time.
        units = present.get("count_total", present.get("count_good"))
        assert r.oee == pytest.approx(units * 3 / 600)
    else:
        assert r.oee == pytest.approx(100 * 3 * 0.9 / 600)


def test_no_counters_at_all():
    r = oee(Machine().state(0, "running"), 0, 10 * MIN)
    assert (r.total, r.good, r.scrap, r.performance, r.oee) == (None, None, None, None, None)
    assert "no_counts" in r.flags


def test_before_the_first_state_the_machine_counts_as_offline():
    m = Machine().state(4 * MIN, "running")
    r = oee(m, 0, 10 * MIN)
    assert r.downtime_s == 240 and r.losses_s["offline"] == 240
    assert r.reasons == [{"reason": "no_data", "episodes": 1, "downtime_s": 240.0}]


def test_planned_stop_is_excluded_from_planned_time_and_ends_an_episode():
    m = Machine().state(0, "running").state(MIN, "idle").state(2 * MIN, "planned_stop")
    m.state(5 * MIN, "idle").state(6 * MIN, "running")
    r = oee(m, 0, 10 * MIN)
    assert r.planned_s == 7 * 60
    # Two separate 60 s idle episodes (planned_stop splits them): both small stops.
    assert (r.small_stop_s, r.downtime_s) == (120, 0)


def test_performance_above_one_is_reported_as_is_and_flagged():
    m = Machine().state(0, "running").at(0, "count_total", 0).at(MIN, "count_total", 100)
    r = oee(m, 0, 2 * MIN, site("machines: {press-1: {ideal_cycle_time_s: 2}}"))
    assert r.performance == pytest.approx(200 / 120)
    assert "performance_above_1" in r.flags


def test_unknown_state_values_are_flagged_and_count_as_offline():
    m = Machine().state(0, "running").state(MIN, "PACKML_17").state(5 * MIN, "running")
    r = oee(m, 0, 10 * MIN)
    assert "unknown_state:PACKML_17" in r.flags
    assert r.losses_s["offline"] == 240


def test_window_end_is_cut_back_to_now_and_last_state_holds_until_now():
    m = Machine().state(0, "running").state(5 * MIN, "fault")
    r = oee(m, 0, 60 * MIN, now=8 * MIN)
    assert r.end == 8 * MIN
    assert (r.planned_s, r.downtime_s) == (480, 180)


def test_counter_delta_belongs_to_the_later_samples_time():
    m = Machine().state(0, "running").at(0, "count_total", 10).at(10 * MIN, "count_total", 20)
    assert oee(m, 0, 10 * MIN).total == 0  # [0, 10 min) excludes the delta at 10 min
    assert oee(m, 0, 10 * MIN + 1).total == 10
    assert oee(m, MIN, 20 * MIN).total == 10  # the baseline before the window carries in


# -- coverage and counts across a gap (§5, second version) ------------------------------------

GAP_SITE = """
timezone: Europe/Amsterdam
calendar:
  shifts: [{days: [mon], start: "06:00", end: "14:00"}]
  breaks: [{days: [mon], start: "10:00", end: "10:30"}]
machines:
  press-1: {ideal_cycle_time_s: 60}
"""


def gap_machine(gap_min: float) -> tuple[Machine, int, int]:
    """Runs 06:00–14:00, one unit a minute, unobserved from 08:00 for `gap_min` minutes: the
    units made in the gap arrive with the first count after it."""
    t0 = local("2026-03-02 06:00")
    m = Machine().state(t0, "running").at(t0, "count_total", 0)
    gap_end = t0 + 120 * MIN + int(gap_min * MIN)
    m.state(t0 + 120 * MIN, "offline").state(gap_end, "running")
    for i in range(1, 481):
        ts = t0 + i * MIN
        if not (t0 + 120 * MIN < ts < gap_end):
            m.at(ts, "count_total", i)
    return m, t0, t0 + 480 * MIN


def test_coverage_is_the_share_of_planned_time_observed():
    m, start, end = gap_machine(45)  # 08:00–08:45, all of it planned
    r = oee(m, start, end, site(GAP_SITE))
    assert r.planned_s == 450 * 60
    assert r.losses_s["offline"] == 45 * 60
    assert r.coverage == pytest.approx(1 - 45 / 450)
    assert "counts_across_gap" in r.flags
    assert r.total == 479  # the gap's units are counted, at the sample after it (the 480th
    assert r.performance == pytest.approx(479 / 405)  # is at 14:00); above 1, flagged
    assert "performance_above_1" in r.flags


def test_coverage_one_without_offline_and_null_without_planned_time():
    m, start, end = gap_machine(0)
    r = oee(m, start, end, site(GAP_SITE))
    assert r.coverage == 1.0 and "counts_across_gap" not in r.flags
    r = oee(m, local("2026-03-02 14:00"), local("2026-03-02 15:00"), site(GAP_SITE))
    assert r.planned_s == 0 and r.coverage is None


def test_coverage_counts_the_unknown_time_before_the_first_state():
    t0 = local("2026-03-02 06:00")
    m = Machine().state(t0 + 60 * MIN, "running")
    r = oee(m, t0, t0 + 120 * MIN, site(GAP_SITE))
    assert r.coverage == pytest.approx(0.5)


def test_counts_across_gap_only_after_a_gap_of_the_micro_stop_threshold():
    short, start, end = gap_machine(1.5)  # 90 s < 120 s: a small stop, not a gap
    assert "counts_across_gap" not in oee(short, start, end, site(GAP_SITE)).flags
    long, start, end = gap_machine(2)  # 120 s: at the threshold
    assert "counts_across_gap" in oee(long, start, end, site(GAP_SITE)).flags
    # The threshold is the site's: at 180 s the 2 min gap no longer counts.
    r = oee(long, start, end, site(GAP_SITE), threshold=180)
    assert "counts_across_gap" not in r.flags


def test_counts_across_gap_needs_a_count_after_the_gap_in_the_window():
    m, start, _ = gap_machine(45)
    # A window that ends inside the gap holds no count after it.
    r = oee(m, start, local("2026-03-02 08:30"), site(GAP_SITE))
    assert "counts_across_gap" not in r.flags and r.coverage < 1


def test_scrap_entered_moves_units_from_good_to_scrap_and_never_below_zero():
    """domain.md §2, §5: `scrap_entry` units leave good for scrap at their `ts`, in the window."""
    m = Machine().state(0, "running")
    for k, t in enumerate(range(0, 10 * MIN, MIN)):
        m.at(t, "count_total", 10 * k).at(t, "count_good", 10 * k - (k // 3))
    m.at(2 * MIN, "scrap_entry", 4).at(8 * MIN, "scrap_entry", 2)
    r = oee(m, 0, 10 * MIN)
    assert (r.total, r.good, r.scrap) == (90, 87 - 6, 3 + 6)
    # an entry before the window belongs to another window
    r = oee(m, 5 * MIN, 10 * MIN)
    assert (r.total, r.good, r.scrap) == (50, 48 - 2, 2 + 2)
    # more entered than good: good stops at 0
    m.at(9 * MIN, "scrap_entry", 1_000)
    r = oee(m, 0, 10 * MIN)
    assert (r.total, r.good, r.scrap) == (90, 0, 90) and r.quality == 0.0
    # a machine with only a total: the entries make its quality known
    only = Machine().state(0, "running").at(0, "count_total", 0).at(5 * MIN, "count_total", 40)
    only.at(6 * MIN, "scrap_entry", 4)
    r = oee(only, 0, 10 * MIN)
    assert (r.good, r.scrap, r.quality) == (36, 4, 0.9)
    assert "quality_assumed_1" not in r.flags


def test_a_reason_with_a_category_moves_its_stop_to_that_loss():
    """domain.md §5: `reasons: {changeover: {category: setup}}`: a 60 s idle stop explained as
    a changeover is setup (downtime), not a small stop; the same stop unexplained is small."""
    m = Machine().state(0, "running").state(10 * MIN, "idle").state(11 * MIN, "running")
    m.at(10 * MIN + 5 * SEC, "reason", "changeover")
    plain = oee(m, 0, 20 * MIN)
    assert (plain.small_stop_s, plain.downtime_s) == (60, 0)
    cfg = site("reasons: {changeover: {category: setup, nl: Omstellen}, jam: {nl: Vastloper}}")
    r = oee(m, 0, 20 * MIN, cfg)
    assert (r.small_stop_s, r.downtime_s, r.losses_s["setup"]) == (0, 60, 60)
    assert r.episodes.category == ["setup"] and cfg.reason_label("changeover", "nl") == "Omstellen"
    # a fault explained as a jam keeps its own category (jam has none)
    m2 = Machine().state(0, "running").state(10 * MIN, "fault").state(15 * MIN, "running")
    m2.at(10 * MIN, "reason", "jam")
    assert oee(m2, 0, 20 * MIN, cfg).losses_s["fault"] == 300


def test_figures_per_order_are_the_figures_over_the_instants_it_ran():
    """domain.md §5: per order, the same figures over the instants `order` held its value, in
    the window; `order: ""` ends one. Two orders' figures add up to the machine's."""
    from fieldlab.kpi.per import oee_per

    m = Machine().state(0, "running").at(0, "order", "A-1").at(0, "count_total", 0)
    m.at(10 * MIN, "count_total", 30).at(20 * MIN, "order", "B-2")
    m.state(25 * MIN, "fault").state(30 * MIN, "running").at(35 * MIN, "count_total", 45)
    m.at(40 * MIN, "order", "").at(50 * MIN, "count_total", 45)
    cfg = site("machines: {press-1: {ideal_cycle_time_s: 20}}")
    whole = oee(m, 0, 60 * MIN, cfg)
    per = dict(oee_per(m.history(), cfg, "order", 0, 60 * MIN, now=60 * MIN))
    assert list(per) == ["A-1", "B-2"]
    a, b = per["A-1"], per["B-2"]
    assert (a.planned_s, a.downtime_s, a.total) == (20 * 60, 0, 30)
    assert (b.planned_s, b.downtime_s, b.total) == (20 * 60, 5 * 60, 15)
    assert a.part == ("order", "A-1") and b.energy is None
    assert a.total + b.total == whole.total == 45
    assert a.downtime_s + b.downtime_s == whole.downtime_s
    # a window that holds only part of an order: the order's figures in that window
    (name, late), *_ = oee_per(m.history(), cfg, "order", 30 * MIN, 60 * MIN, now=60 * MIN)
    assert name == "B-2" and (late.planned_s, late.total) == (10 * 60, 15)
