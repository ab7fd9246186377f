"""Calendar rules (domain.md §5): shifts, midnight, DST, breaks, exceptions."""

from fieldlab.domain.calendar import Calendar
from tests.helpers import AMS, MIN, local, site

HOUR = 60 * MIN


def planned_minutes(cal_yaml: str, start: str, end: str) -> float:
    cfg = site(cal_yaml)
    return Calendar(cfg.calendar, AMS).planned(local(start), local(end)).total / MIN


def test_no_calendar_means_every_instant_is_planned():
    assert Calendar(None, AMS).planned(0, 5 * HOUR).total == 5 * HOUR


def test_shift_across_midnight_belongs_to_its_start_day():
    cal = """
calendar:
  shifts: [{days: [mon], start: "22:00", end: "06:00"}]
"""
    # 2026-03-02 is a Monday: 22:00 Mon to 06:00 Tue is 8 h.
    assert planned_minutes(cal, "2026-03-02 00:00", "2026-03-04 00:00") == 8 * 60
    # Only the part inside the window counts.
    assert planned_minutes(cal, "2026-03-03 00:00", "2026-03-03 12:00") == 6 * 60
    # Sunday night: no shift starts on Sunday.
    assert planned_minutes(cal, "2026-03-01 00:00", "2026-03-02 12:00") == 0


def test_night_shift_across_spring_forward_is_an_hour_shorter():
    # Sunday 2026-03-29 02:00 CET -> 03:00 CEST.
    cal = 'calendar: {shifts: [{days: [sat, sun], start: "22:00", end: "06:00"}]}'
    assert planned_minutes(cal, "2026-03-28 12:00", "2026-03-29 12:00") == 7 * 60  # Sat night
    assert planned_minutes(cal, "2026-03-28 23:00", "2026-03-29 12:00") == 6 * 60
    cfg = site(cal)
    got = Calendar(cfg.calendar, AMS).planned(local("2026-03-28 12:00"), local("2026-03-30 12:00"))
    # Saturday night 22:00 -> Sunday 06:00 spans the change: 7 h; Sunday night: 8 h.
    assert got.total / MIN == 7 * 60 + 8 * 60


def test_night_shift_across_fall_back_is_an_hour_longer():
    # Sunday 2026-10-25 03:00 CEST -> 02:00 CET.
    cal = 'calendar: {shifts: [{days: [sat], start: "22:00", end: "06:00"}]}'
    assert planned_minutes(cal, "2026-10-24 12:00", "2026-10-25 12:00") == 9 * 60


def test_breaks_are_not_planned_and_exceptions_replace_a_dates_shifts():
    cal = """
calendar:
  shifts: [{days: [mon, tue, wed, thu, fri], start: "06:00", end: "14:00"}]
  breaks: [{days: [mon, tue, wed, thu, fri], start: "10:00", end: "10:30"}]
  exceptions:
    - {date: 2026-03-03, shifts: []}
    - {date: 2026-03-07, shifts: [{start: "08:00", end: "12:00"}]}
"""
    # Mon 7.5 h, Tue holiday, Wed–Fri 3 × 7.5 h, Sat extra shift 4 h (no Saturday break).
    assert planned_minutes(cal, "2026-03-02 00:00", "2026-03-09 00:00") == (4 * 7.5 + 4) * 60


def test_calendar_without_weekly_shifts_is_round_the_clock_minus_breaks():
    cal = 'calendar: {breaks: [{days: [mon], start: "12:00", end: "13:00"}]}'
    assert planned_minutes(cal, "2026-03-02 00:00", "2026-03-03 00:00") == 23 * 60


def test_shift_occurrences_carry_names_and_dates():
    cfg = site('calendar: {shifts: [{name: night, days: [mon], start: "22:00", end: "06:00"}]}')
    occ = Calendar(cfg.calendar, AMS).shifts(local("2026-03-02 00:00"), local("2026-03-04 00:00"))
    assert [(o.name, str(o.date)) for o in occ] == [("night", "2026-03-02")]
    assert occ[0].end - occ[0].start == 8 * HOUR


def test_a_sites_calendar_is_made_once_and_remembers_its_windows():
    """`fieldlab oee` asks every machine's planned time of the same window: one calendar per
    site config (configs are frozen) answers them all; another config has its own."""
    cfg = site('calendar: {shifts: [{days: [mon], start: "06:00", end: "14:00"}]}')
    cal = cfg.shift_calendar()
    window = (local("2026-03-02 00:00"), local("2026-03-03 00:00"))
    first = cal.planned(*window)
    assert cfg.shift_calendar() is cal and cal.planned(*window) is first
    assert first.total == 8 * HOUR
    other = site('calendar: {shifts: [{days: [mon], start: "06:00", end: "10:00"}]}')
    assert other.shift_calendar() is not cal
    assert other.shift_calendar().planned(*window).total == 4 * HOUR
    assert cfg.model_copy(update={"calendar": other.calendar}).shift_calendar() is not cal
