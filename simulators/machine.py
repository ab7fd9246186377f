"""A simulated machine: a discrete-event model that lives in simulated time only.

The model never looks at the wall clock: `advance(until)` returns every sample up to a simulated
instant, drawing from the machine's own seeded generator in the order events happen. However
often and however fast it is advanced, the same seed gives the same history, byte for byte;
the speed factor only decides how quickly a run reaches a given simulated time.
"""

from __future__ import annotations

import math
import random
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from fieldlab.domain.calendar import Calendar
from fieldlab.domain.intervals import IntervalSet
from fieldlab.domain.samples import Sample, Value
from fieldlab.simulators.archetypes import Params, resolve
from fieldlab.simulators.scenario import Event, SimMachine

_WEEK = 7 * 86_400_000
_YEAR = 365 * 86_400_000


class PlannedTime:
    """Is simulated instant t planned, and until when? Computed from the calendar week by week."""

    def __init__(self, calendar: Calendar, start: int):
        self._cal = calendar
        self._hi = start
        self._set = IntervalSet.empty()

    def _cover(self, t: int) -> None:
        while self._hi < t:
            self._set = self._set.union(self._cal.planned(self._hi, self._hi + _WEEK))
            self._hi += _WEEK

    def at(self, t: int) -> tuple[bool, int]:
        """(planned?, the next instant where that changes)."""
        self._cover(t + 1)
        while True:
            starts, ends = self._set.starts, self._set.ends
            i = int(np.searchsorted(starts, t, side="right")) - 1
            inside = i >= 0 and t < ends[i]
            if inside and ends[i] < self._hi:
                return True, int(ends[i])
            if not inside and i + 1 < len(starts):
                return False, int(starts[i + 1])
            if self._hi - t > _YEAR:  # no change for a year: say so and ask again then
                return inside, self._hi
            self._cover(self._hi + 1)


@dataclass
class _Activity:
    state: str
    remaining: int  # ms of simulated time left (planned time only)
    reason: str = ""
    after: str = ""  # what follows: "stop" (a drawn stop), "product" (after setup)
    stop: tuple[str, int, str] | None = None  # the stop that ends a run: state, ms, reason


@dataclass
class _Snapshot:
    ts: int
    state: str
    drift_origin: int
    speed: float


@dataclass
class MachineModel:
    machine: str
    spec: SimMachine
    calendar: Calendar
    start: int
    seed: int
    orders: list[tuple[str, int]] = field(default_factory=list)
    events: list[tuple[int, Event]] = field(default_factory=list)  # (sim ms, event)

    def __post_init__(self) -> None:
        self.params: Params = resolve(self.spec.archetype, self.spec.behaviour)
        salt = zlib.crc32(self.machine.encode())
        self._rng = random.Random(self.seed * 1_000_003 + salt)
        self._prng = random.Random(self.seed * 7_000_003 + salt)  # process-value noise
        self._planned = PlannedTime(self.calendar, self.start)
        self.speed = 1.0  # ideal-speed factor (script: "speed -20%")
        self._history: list[_Snapshot] = []
        self._next_process = self.start
        self._gen = self._run()
        self._peeked: Sample | None = next(self._gen)
        self.current: dict[str, tuple[int, Value]] = {}
        self._energy = 0.0
        self._last_power: tuple[int, float] | None = None

    # -- public ---------------------------------------------------------------------------------

    def advance(self, until: int) -> list[Sample]:
        """Every sample with ``ts <= until``, in time order."""
        events: list[Sample] = []
        while self._peeked is not None and self._peeked.ts <= until:
            events.append(self._peeked)
            self._peeked = next(self._gen, None)
        process = self._process_values(until)
        merged = (
            events + process
            if not process or not events
            else sorted(events + process, key=lambda s: s.ts)
        )
        for s in merged:
            self.current[s.signal] = (s.ts, s.value)
        return merged

    # -- the model ------------------------------------------------------------------------------

    def _ict_ms(self, product: str | None) -> float:
        """Ideal time of one machine cycle: the ideal cycle time is per unit (DOMAIN.md §5),
        and a multi-cavity mould makes several units per cycle."""
        spec = self.spec.products.get(product) if product else None
        ict = spec.ideal_cycle_time_s if spec else self.spec.ideal_cycle_time_s
        return ict * 1000.0 * self.params.cavities

    def _temp_dev(self, t: int, origin: int) -> float:
        p = self.params
        return p.temp_drift_c_per_h * (t - origin) / 3_600_000 + 0.6 * math.sin(t / 400_000)

    def _run(self) -> Iterator[Sample]:
        p, rng, m = self.params, self._rng, self.machine
        t = self.start
        orders = (
            self.orders
            or [(name, p.order_quantity) for name in self.spec.products]
            or [("", p.order_quantity)]
        )
        order_i = 0
        product, left_in_order = orders[0]
        total = good = scrap = 0
        startup_scrap = 0
        drift_origin = t
        setup_min = p.setup_min
        scrap_rate = p.scrap_rate
        state = ""
        cycle_left = self._draw_cycle(product)
        events = sorted(self.events, key=lambda e: e[0])
        ev_i = 0
        stack: list[_Activity] = []
        if product:
            yield Sample(t, m, "product", product)
        # A legacy machine has a pulse counter and nothing that tells good from bad.
        quality_counters = self.spec.archetype != "legacy_lathe"
        for sig in ("count_total", "count_good", "count_scrap")[: 3 if quality_counters else 1]:
            yield Sample(t, m, sig, 0)

        def set_state(ts: int, new: str, why: str) -> Iterator[Sample]:
            # A reason belongs to the stop episode it falls in: say it again on every entry.
            nonlocal state
            if new != state:
                state = new
                self._history.append(_Snapshot(ts, new, drift_origin, self.speed))
                yield Sample(ts, m, "state", new)
                if why and new not in ("running", "planned_stop"):
                    yield Sample(ts, m, "reason", why)

        while True:
            planned, boundary = self._planned.at(t)
            next_event = events[ev_i][0] + self.start if ev_i < len(events) else None
            if next_event is not None and next_event <= t:
                ev = events[ev_i][1]
                ev_i += 1
                if ev.action in ("fault", "state"):
                    new_state = "fault" if ev.action == "fault" else ev.args[0]
                    why = ev.args[0] if ev.action == "fault" and ev.args else ""
                    if ev.action == "state" and len(ev.args) > 1 and not ev.args[1][0].isdigit():
                        why = ev.args[1]
                    stack.append(_Activity(new_state, ev.duration_ms() or 600_000, why))
                elif ev.action == "speed":
                    self.speed = _speed_factor(ev.args[0]) if ev.args else 1.0
                elif ev.action == "setup_min":
                    setup_min = float(ev.args[0])
                elif ev.action == "scrap_rate":
                    scrap_rate = float(ev.args[0])
                continue
            if not planned:
                yield from set_state(t, "planned_stop", "")
                t = boundary if next_event is None else min(boundary, next_event)
                continue
            if not stack:
                if left_in_order <= 0:
                    order_i = (order_i + 1) % len(orders)
                    stack.append(
                        _Activity(
                            "setup", self._draw_setup(setup_min), "changeover", after="product"
                        )
                    )
                else:
                    stack.append(self._draw_run())
            act = stack[-1]
            yield from set_state(t, act.state, act.reason)
            seg_end = min(t + act.remaining, boundary)
            if next_event is not None:
                seg_end = min(seg_end, next_event)
            if act.state == "running":
                # Complete cycles while running; an order that completes ends the run.
                while t + cycle_left <= seg_end:
                    t += int(cycle_left)
                    act.remaining -= int(cycle_left)
                    cycle_left = self._draw_cycle(product)
                    units = p.cavities
                    bad = 0
                    for _ in range(units):
                        if startup_scrap > 0:
                            bad += 1
                        else:
                            dev = (
                                abs(self._temp_dev(t, drift_origin))
                                if p.temp_drift_c_per_h
                                else 0.0
                            )
                            rate = scrap_rate + max(0.0, dev - 3.0) * 0.03
                            bad += rng.random() < rate
                    startup_scrap = max(0, startup_scrap - 1)
                    total += units
                    good += units - bad
                    yield Sample(t, m, "count_total", total)
                    if quality_counters:
                        yield Sample(t, m, "count_good", good)
                        if bad:
                            scrap += bad
                            yield Sample(t, m, "count_scrap", scrap)
                    left_in_order -= units - bad
                    if left_in_order <= 0:
                        act.remaining = 0
                        act.stop = None
                        break
                else:
                    cycle_left -= seg_end - t
                    act.remaining -= seg_end - t
                    t = seg_end
            else:
                act.remaining -= seg_end - t
                t = seg_end
            if act.remaining <= 0:
                stack.pop()
                if act.after == "product":
                    product, left_in_order = orders[order_i]
                    if product:
                        yield Sample(t, m, "product", product)
                    drift_origin = t
                    startup_scrap = p.startup_scrap_cycles
                    cycle_left = self._draw_cycle(product)
                elif act.stop is not None:
                    stack.append(_Activity(*act.stop))

    def _draw_cycle(self, product: str | None) -> float:
        p = self.params
        noise = max(-0.02, self._rng.gauss(p.speed_loss, p.cycle_spread))
        return max(1.0, self._ict_ms(product) * (1 + noise) / self.speed)

    def _draw_setup(self, minutes: float) -> int:
        if minutes <= 0:
            return 1000
        return int(self._rng.gammavariate(8, minutes / 8) * 60_000)

    def _draw_run(self) -> _Activity:
        """A run until the next stop, whichever cause comes first."""
        p, rng = self.params, self._rng
        rates = {
            "fault": 60.0 / p.mtbf_min,
            "micro": p.micro_stops_per_hour,
            "starved": p.starved_per_hour,
            "blocked": p.blocked_per_hour,
        }
        draws = {k: rng.expovariate(r) if r > 0 else math.inf for k, r in rates.items()}
        cause = min(draws, key=lambda k: draws[k])
        hours = draws[cause]
        if math.isinf(hours):
            return _Activity("running", 10**15)
        if cause == "fault":
            stop = (
                "fault",
                int(rng.gammavariate(2, p.mttr_min / 2) * 60_000) + 30_000,
                rng.choice(p.fault_reasons),
            )
        elif cause == "micro":
            stop = (p.micro_state, int(rng.uniform(*p.micro_stop_s) * 1000), "")
        else:
            stop = (cause, int(rng.expovariate(1 / p.external_stop_min) * 60_000) + 5_000, "")
        return _Activity("running", max(1000, int(hours * 3_600_000)), stop=stop)

    # -- process values -------------------------------------------------------------------------

    def _snapshot_at(self, t: int) -> _Snapshot:
        hist = self._history
        i = len(hist) - 1
        while i >= 0 and hist[i].ts > t:
            i -= 1
        if i < 0:
            return _Snapshot(t, "offline", self.start, 1.0)
        snap = hist[i]
        del hist[:i]  # process samples only move forward: older entries are never asked again
        return snap

    def _process_values(self, until: int) -> list[Sample]:
        p = self.params
        if not p.process:
            return []
        step = int(p.process_interval_s * 1000)
        out: list[Sample] = []
        while self._next_process <= until:
            t = self._next_process
            snap = self._snapshot_at(t)
            for signal, value in self._values(snap, t):
                out.append(Sample(t, self.machine, signal, value))
            self._next_process += step
        return out

    def _values(self, snap: _Snapshot, t: int) -> list[tuple[str, float]]:
        g = self._prng.gauss
        run = snap.state == "running"
        arch = self.spec.archetype
        if arch == "cnc":
            load = 55 + 15 * g(0, 1) if run else 0.0
            power = 9 + 3 * g(0, 1) if run else (2.0 if snap.state in ("idle", "setup") else 0.6)
            return [("spindle_load_pct", _r(max(load, 0))), ("power_kw", _r(max(power, 0.2)))]
        if arch == "injection_moulding":
            temp = 230 + self._temp_dev(t, snap.drift_origin) + 0.2 * g(0, 1)
            pressure = 850 + 20 * g(0, 1) if run else 0.0
            return [("barrel_temp_c", _r(temp)), ("injection_pressure_bar", _r(pressure))]
        if arch == "filler":
            nominal = 3600 / self.spec.ideal_cycle_time_s / 60 * snap.speed
            return [
                ("speed_bpm", _r(nominal * (0.92 + 0.03 * g(0, 1)) if run else 0.0)),
                ("line_pressure_bar", _r(2.5 + 0.05 * g(0, 1))),
            ]
        if arch == "press":
            spm = 60 / self.spec.ideal_cycle_time_s * snap.speed if run else 0.0
            return [
                ("stroke_rate_spm", _r(spm)),
                ("tonnage_t", _r(180 + 8 * g(0, 1) if run else 0)),
            ]
        if arch == "laser":
            return [
                ("laser_power_kw", _r(5.5 + 0.3 * g(0, 1) if run else 0.3)),
                ("gas_pressure_bar", _r(14 + 0.4 * g(0, 1) if run else 0.0)),
            ]
        # legacy_lathe: only an energy meter sees it
        power = {"running": 4.5 + 0.6 * g(0, 1), "setup": 0.8, "idle": 0.35}.get(snap.state, 0.05)
        power = max(power, 0.02)
        if self._last_power is not None:
            t0, p0 = self._last_power
            self._energy += p0 * (t - t0) / 3_600_000
        self._last_power = (t, power)
        return [("power_kw", _r(power)), ("energy_kwh", round(self._energy, 3))]


def _r(x: float) -> float:
    return round(float(x), 2)


def _speed_factor(text: str) -> float:
    """``-20%`` → 0.8, ``+10%`` → 1.1, ``80%`` → 0.8, ``0.8`` → 0.8."""
    text = text.strip()
    if text.endswith("%"):
        n = float(text[:-1])
        return 1 + n / 100 if text[0] in "+-" else n / 100
    return float(text)
