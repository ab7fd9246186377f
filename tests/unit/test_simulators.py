"""Simulators: determinism, time compression, scripted events, plausible ground truth."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from fieldlab.config import SiteConfig
from fieldlab.domain.calendar import Calendar
from fieldlab.domain.history import histories_from_samples
from fieldlab.domain.samples import sample_from_mapping
from fieldlab.kpi.oee import compute_oee
from fieldlab.simulators.runner import Simulation
from fieldlab.simulators.scenario import Scenario, load_scenario
from tests.helpers import MIN, local
from tests.truth import run_sim

HOUR = 60 * MIN
START = local("2026-03-02 06:00")  # a Monday


def read_truth(path: Path):
    return [sample_from_mapping(json.loads(line)) for line in path.read_text().splitlines()]


def truth_oee(site: SiteConfig, samples, start: int, end: int):
    cal = Calendar(site.calendar, site.tz)
    return {
        m: compute_oee(h, start, end, now=end, calendar=cal, machine=site.machine(m))
        for m, h in histories_from_samples(samples).items()
    }


def test_same_seed_same_truth_byte_for_byte_whatever_the_step(tmp_path):
    sc = load_scenario()
    run_sim(sc, tmp_path / "a.jsonl", 3, step_ms=10_000)
    run_sim(sc, tmp_path / "b.jsonl", 3, step_ms=777)
    run_sim(sc, tmp_path / "c.jsonl", 3, seed=2)
    a = (tmp_path / "a.jsonl").read_bytes()
    assert len(a) > 100_000
    assert a == (tmp_path / "b.jsonl").read_bytes()
    assert a != (tmp_path / "c.jsonl").read_bytes()


@pytest.mark.slow
@pytest.mark.serial  # a wall-clock bound
@pytest.mark.xdist_group("timing")
def test_an_hour_at_600x_keeps_pace_with_the_clock_and_matches_60x(tmp_path):
    """Paced by the real clock: 1 h at 600× (6 s) and, alongside, 5 min at 60× (5 s)."""
    sc = load_scenario()
    fast = Simulation(sc, start_ms=START, truth=tmp_path / "600.jsonl", speed=600)
    slow = Simulation(sc, start_ms=START, truth=tmp_path / "60.jsonl", speed=60)

    async def go() -> float:
        t0 = time.monotonic()
        await asyncio.gather(fast.run(sim_until=START + HOUR), slow.run(sim_until=START + 5 * MIN))
        elapsed = time.monotonic() - t0
        await fast.stop()
        await slow.stop()
        return elapsed

    elapsed = asyncio.run(go())
    assert fast.sim_now == START + HOUR
    assert elapsed < 9, elapsed  # 6 s paced, with room for a loaded runner
    fast_lines = (tmp_path / "600.jsonl").read_text().splitlines()
    slow_lines = (tmp_path / "60.jsonl").read_text().splitlines()
    assert len(slow_lines) > 100
    # The same events in the same order: the 60× run is the start of the 600× run.
    assert fast_lines[: len(slow_lines)] == slow_lines
    run_sim(sc, tmp_path / "max.jsonl", 1)
    assert (tmp_path / "max.jsonl").read_text().splitlines() == fast_lines


SCRIPTED = """
site: test
timezone: Europe/Amsterdam
start: 2026-03-02T06:00
seed: 3
machines:
  press-1:
    archetype: press
    ideal_cycle_time_s: 6
    behaviour: {mtbf_min: 100000, micro_stops_per_hour: 0, setup_min: 0, order_quantity: 1000000}
  filler-1:
    archetype: filler
    ideal_cycle_time_s: 1
    behaviour: {mtbf_min: 100000, micro_stops_per_hour: 0, starved_per_hour: 0,
                blocked_per_hour: 0, order_quantity: 10000000, speed_loss: 0, cycle_spread: 0}
events:
  - "10:12 press-1 fault tool_break 14 min"
  - "11:00 filler-1 speed -20%"
  - "12:00 press-1 state starved 5 min"
"""


def test_scripted_events_happen_at_their_simulated_time(tmp_path):
    import yaml

    sc = Scenario.model_validate(yaml.safe_load(SCRIPTED))
    run_sim(sc, tmp_path / "t.jsonl", 7)
    samples = read_truth(tmp_path / "t.jsonl")
    press = [
        (s.ts, s.value)
        for s in samples
        if s.machine == "press-1" and s.signal in ("state", "reason")
    ]
    assert (local("2026-03-02 10:12"), "fault") in press
    assert (local("2026-03-02 10:12"), "tool_break") in press
    assert (local("2026-03-02 10:26"), "running") in press
    assert (local("2026-03-02 12:00"), "starved") in press
    assert (local("2026-03-02 12:05"), "running") in press
    r = truth_oee(sc.site_config(), samples, START, START + 7 * HOUR)
    assert r["press-1"].losses_s["fault"] == 14 * 60
    # The filler runs at its ideal speed until 11:00, then 20 % slower.
    before = truth_oee(sc.site_config(), samples, START, local("2026-03-02 11:00"))["filler-1"]
    after = truth_oee(sc.site_config(), samples, local("2026-03-02 11:00"), START + 7 * HOUR)[
        "filler-1"
    ]
    assert before.performance == pytest.approx(1.0, abs=0.01)
    assert after.performance == pytest.approx(0.8, abs=0.01)


def test_truth_oee_of_the_default_scenario_is_plausible_per_archetype(tmp_path):
    sc = load_scenario()
    run_sim(sc, tmp_path / "t.jsonl", 8)
    r = truth_oee(sc.site_config(), read_truth(tmp_path / "t.jsonl"), START, START + 8 * HOUR)
    for m, res in r.items():
        assert 0.35 < res.oee < 0.92, (m, res.oee)
        assert 0.6 < res.availability < 0.98, (m, res.availability)
        assert 0.6 < res.performance <= 1.0, (m, res.performance)
        assert res.planned_s == 7.5 * 3600  # 8 h less the 10:00 break
    # Archetype traits: the filler has the most small stops and starved/blocked losses; the
    # moulding machine the most scrap; the CNC the longest cycles.
    assert r["filler-1"].small_stop_s == max(x.small_stop_s for x in r.values())
    assert r["filler-1"].losses_s["starved"] + r["filler-1"].losses_s["blocked"] > 0
    assert r["imm-1"].quality == min(x.quality for x in r.values() if x.quality is not None)
    assert r["cnc-1"].total < r["laser-1"].total < r["press-1"].total < r["filler-1"].total
    # the old lathe has a pulse counter and nothing that tells good from bad: no quality figure
    assert r["lathe-1"].quality is None and "quality_assumed_1" in r["lathe-1"].flags


def test_a_bad_scenario_names_file_key_and_expectation(tmp_path):
    from fieldlab.config import ConfigError

    bad = tmp_path / "bad.yaml"
    bad.write_text("start: now\nmachines:\n  m1: {archetype: robot, ideal_cycle_time_s: 1}\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: machines.m1.archetype: \"robot\" is not"):
        load_scenario(bad)
    bad.write_text(
        "start: now\nmachines: {m1: {archetype: cnc, ideal_cycle_time_s: 1}}\n"
        "events: ['whenever m1 explodes']\n"
    )
    with pytest.raises(ConfigError, match=r"events\[0\]: \"whenever m1 explodes\" is not an event"):
        load_scenario(bad)


@pytest.mark.slow
def test_every_archetype_draws_power_by_state_and_its_meter_adds_it_up(tmp_path):
    """domain.md §8 in the truth: each archetype's power follows its state (the profile in
    archetypes.py), the cumulative meter is the integral of that held power, a planned stop
    draws standby, and the injection moulding machine heats up with a peak after the night."""
    from importlib import resources

    from fieldlab.simulators.archetypes import resolve

    default = resources.files("fieldlab.simulators.scenarios").joinpath("default.yaml")
    text = default.read_text("utf-8").split("calendar:")
    day_shift = (
        "calendar:\n  shifts:\n    - {name: day, days: [mon, tue, wed, thu, fri], "
        'start: "06:00", end: "16:00"}\n'
    )
    (tmp_path / "day.yaml").write_text(text[0] + day_shift + "oee:" + text[1].split("oee:", 1)[1])
    sc = load_scenario(tmp_path / "day.yaml")
    run_sim(sc, tmp_path / "t.jsonl", 28)  # Monday 06:00 to Tuesday 10:00: a night in it
    samples = read_truth(tmp_path / "t.jsonl")
    r = truth_oee(sc.site_config(), samples, START, START + 28 * HOUR)
    for m, res in r.items():
        prof = resolve(sc.machines[m].archetype, sc.machines[m].behaviour).power
        e = res.energy
        assert e is not None and e.kwh > 0, m
        # the meter (energy_kwh deltas) and the held power_kw agree: the same physics
        assert sum(e.by_state_kwh.values()) == pytest.approx(e.kwh, rel=2e-3), m
        assert e.by_state_kwh["running"] > e.non_productive_kwh > 0, m
        # the night, 16:00 to 06:00, at standby: nothing else draws in a planned stop
        night_h = e.by_state_kwh["planned_stop"] / prof.kw["planned_stop"]
        assert night_h == pytest.approx(14, abs=0.01), m
        running_kw = e.by_state_kwh["running"] / (res.apt_s / 3600)  # small stops are idle
        assert running_kw == pytest.approx(prof.kw["running"], rel=0.15 if m == "imm-1" else 0.03)
    # The warm-up: imm-1's first ten minutes after the night draw far above its running draw
    power = [s for s in samples if s.machine == "imm-1" and s.signal == "power_kw"]
    morning = START + 24 * HOUR
    early = [float(p.value) for p in power if morning <= p.ts < morning + 10 * MIN]
    late = [float(p.value) for p in power if morning + 40 * MIN <= p.ts < morning + 90 * MIN]
    assert min(early) > 16.0 + 10 and max(late) < 16.0 * 1.4, (early[:5], late[:5])


def test_a_clock_made_paused_stands_exactly_where_it_was_made():
    """The demo goes live paused at the seam between history and live time: made running and
    paused a moment later, a loaded machine's clock stood a millisecond or more past it, and at
    1x the values the gateway read at contact missed the gap-closing `offline` by that much."""
    from fieldlab.simulators.clock import SimClock

    wall = [100.0]
    clock = SimClock(1_000_000, 1.0, lambda: wall[0], paused=True)
    wall[0] += 5.0
    assert clock.paused and clock.now() == 1_000_000
    clock.resume()
    wall[0] += 2.0
    assert clock.now() == 1_002_000
    running = SimClock(1_000_000, 1.0, lambda: wall[0])
    wall[0] += 0.003
    running.pause()
    assert running.now() == 1_000_003  # what go_live then pause() used to leave
