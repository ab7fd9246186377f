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
from collections import deque
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
class _Production:
    """Where the machine's production stands: time, order, counters, the activity stack."""

    t: int
    orders: list[tuple[str, int]]
    product: str
    left_in_order: int
    drift_origin: int
    setup_min: float
    scrap_rate: float
    cycle_left: float
    quality: bool
    order_i: int = 0
    total: int = 0
    good: int = 0
    scrap: int = 0
    startup_scrap: int = 0
    state: str = ""
    stack: list[_Activity] = field(default_factory=list)


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
        # power-meter noise: its own generator, so adding the meter changed no other value
        self._erng = random.Random(self.seed * 11_000_003 + salt)
        self._planned = PlannedTime(self.calendar, self.start)
        self.speed = 1.0  # ideal-speed factor (script: "speed -20%")
        self._history: list[_Snapshot] = []
        self._next_process = self.start
        self._gen = self._run()
        self._peeked: Sample | None = next(self._gen)
        self.current: dict[str, tuple[int, Value]] = {}
        self._meter = _Meter(self.start)

    # -- public ---------------------------------------------------------------------------------

    def advance(self, until: int) -> list[Sample]:
        """Every sample with ``ts <= until``, in time order."""
        events: list[Sample] = []
        while self._peeked is not None and self._peeked.ts <= until:
            events.append(self._peeked)
            self._peeked = next(self._gen, None)
        process = self._process_values(until) + self._power_values(until)
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
        """Ideal time of one machine cycle: the ideal cycle time is per unit (domain.md §5),
        and a multi-cavity mould makes several units per cycle."""
        spec = self.spec.products.get(product) if product else None
        ict = spec.ideal_cycle_time_s if spec else self.spec.ideal_cycle_time_s
        return ict * 1000.0 * self.params.cavities

    def _temp_dev(self, t: int, origin: int) -> float:
        p = self.params
        return p.temp_drift_c_per_h * (t - origin) / 3_600_000 + 0.6 * math.sin(t / 400_000)

    def _run(self) -> Iterator[Sample]:
        """The machine's whole history, lazily: scripted events first, then planned time, then
        the activity on top of the stack (a run, a stop, a setup) up to the next boundary."""
        run = self._production()
        if run.product:
            yield Sample(run.t, self.machine, "product", run.product)
        for sig in ("count_total", "count_good", "count_scrap")[: 3 if run.quality else 1]:
            yield Sample(run.t, self.machine, sig, 0)
        events = sorted(self.events, key=lambda e: e[0])
        ev_i = 0
        while True:
            planned, boundary = self._planned.at(run.t)
            next_event = events[ev_i][0] + self.start if ev_i < len(events) else None
            if next_event is not None and next_event <= run.t:
                self._apply(events[ev_i][1], run)
                ev_i += 1
                continue
            if not planned:
                yield from self._set_state(run, "planned_stop", "")
                run.t = boundary if next_event is None else min(boundary, next_event)
                continue
            act = self._activity(run)
            yield from self._set_state(run, act.state, act.reason)
            seg_end = min(run.t + act.remaining, boundary)
            if next_event is not None:
                seg_end = min(seg_end, next_event)
            if act.state == "running":
                yield from self._produce(run, act, seg_end)
            else:
                act.remaining -= seg_end - run.t
                run.t = seg_end
            if act.remaining <= 0:
                yield from self._finish(run, act)

    @property
    def order_plan(self) -> list[tuple[str, int]]:
        """(product, quantity) of the orders it runs, in a cycle: the scenario's, else one per
        product, else one of the archetype's size."""
        p = self.params
        return (
            self.orders
            or [(name, p.order_quantity) for name in self.spec.products]
            or [("", p.order_quantity)]
        )

    def _production(self) -> _Production:
        p = self.params
        orders = self.order_plan
        product, left = orders[0]
        return _Production(
            t=self.start,
            orders=orders,
            product=product,
            left_in_order=left,
            drift_origin=self.start,
            setup_min=p.setup_min,
            scrap_rate=p.scrap_rate,
            cycle_left=self._draw_cycle(product),
            quality=p.quality_counters,  # a pulse counter cannot tell good from bad
        )

    def _set_state(self, run: _Production, new: str, why: str) -> Iterator[Sample]:
        """A state change; a reason belongs to the stop episode it falls in, so it is said
        again on every entry."""
        if new != run.state:
            run.state = new
            self._history.append(_Snapshot(run.t, new, run.drift_origin, self.speed))
            self._meter.changes.append((run.t, new))
            yield Sample(run.t, self.machine, "state", new)
            if why and new not in ("running", "planned_stop"):
                yield Sample(run.t, self.machine, "reason", why)

    def _apply(self, ev: Event, run: _Production) -> None:
        """A scripted event: a fault or state for a while, a speed, a setup time, a scrap rate."""
        if ev.action in ("fault", "state"):
            new_state = "fault" if ev.action == "fault" else ev.args[0]
            why = ev.args[0] if ev.action == "fault" and ev.args else ""
            if ev.action == "state" and len(ev.args) > 1 and not ev.args[1][0].isdigit():
                why = ev.args[1]
            run.stack.append(_Activity(new_state, ev.duration_ms() or 600_000, why))
        elif ev.action == "speed":
            self.speed = _speed_factor(ev.args[0]) if ev.args else 1.0
        elif ev.action == "setup_min":
            run.setup_min = float(ev.args[0])
        elif ev.action == "scrap_rate":
            run.scrap_rate = float(ev.args[0])

    def _activity(self, run: _Production) -> _Activity:
        """What the machine does now: the top of the stack, else a changeover when the order is
        done, else a run until the next drawn stop."""
        if not run.stack:
            if run.left_in_order <= 0:
                run.order_i = (run.order_i + 1) % len(run.orders)
                setup = self._draw_setup(run.setup_min)
                run.stack.append(_Activity("setup", setup, "changeover", after="product"))
            else:
                run.stack.append(self._draw_run())
        return run.stack[-1]

    def _produce(self, run: _Production, act: _Activity, seg_end: int) -> Iterator[Sample]:
        """Complete cycles while running until ``seg_end``; an order that completes ends the
        run."""
        m = self.machine
        while run.t + run.cycle_left <= seg_end:
            run.t += int(run.cycle_left)
            act.remaining -= int(run.cycle_left)
            run.cycle_left = self._draw_cycle(run.product)
            units = self.params.cavities
            bad = self._bad_units(run, units)
            run.total += units
            run.good += units - bad
            yield Sample(run.t, m, "count_total", run.total)
            if run.quality:
                yield Sample(run.t, m, "count_good", run.good)
                if bad:
                    run.scrap += bad
                    yield Sample(run.t, m, "count_scrap", run.scrap)
            run.left_in_order -= units - bad
            if run.left_in_order <= 0:
                act.remaining = 0
                act.stop = None
                return
        run.cycle_left -= seg_end - run.t
        act.remaining -= seg_end - run.t
        run.t = seg_end

    def _bad_units(self, run: _Production, units: int) -> int:
        """Scrap of one cycle: start-up cycles after a changeover, else the scrap rate, raised
        once the process drifts more than 3 °C."""
        p, bad = self.params, 0
        for _ in range(units):
            if run.startup_scrap > 0:
                bad += 1
            else:
                dev = abs(self._temp_dev(run.t, run.drift_origin)) if p.temp_drift_c_per_h else 0.0
                rate = run.scrap_rate + max(0.0, dev - 3.0) * 0.03
                bad += self._rng.random() < rate
        run.startup_scrap = max(0, run.startup_scrap - 1)
        return bad

    def _finish(self, run: _Production, act: _Activity) -> Iterator[Sample]:
        """An activity is over: after a changeover the next order's product starts (start-up
        scrap, drift from zero); after a run, the stop it drew."""
        run.stack.pop()
        if act.after == "product":
            run.product, run.left_in_order = run.orders[run.order_i]
            if run.product:
                yield Sample(run.t, self.machine, "product", run.product)
            run.drift_origin = run.t
            run.startup_scrap = self.params.startup_scrap_cycles
            run.cycle_left = self._draw_cycle(run.product)
        elif act.stop is not None:
            run.stack.append(_Activity(*act.stop))

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
            return [("spindle_load_pct", _r(max(load, 0)))]
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
        return []

    # -- the power meter ------------------------------------------------------------------------

    def _power_values(self, until: int) -> list[Sample]:
        """`power_kw` at every state change (so held power follows the state exactly, docs/domain.md
        §8) and every process interval (load noise, the warm-up fading); `energy_kwh`, the
        meter's exact integral of that held power, every process interval."""
        prof, meter, m = self.params.power, self._meter, self.machine
        if not prof.kw:
            return []
        step = int(self.params.process_interval_s * 1000)
        out: list[Sample] = []
        while True:
            change = meter.changes[0][0] if meter.changes else None
            t = meter.next_tick if change is None else min(meter.next_tick, change)
            if t > until:
                return out
            while meter.changes and meter.changes[0][0] == t:
                before, meter.state = meter.state, meter.changes.popleft()[1]
                if meter.state == "planned_stop":
                    meter.cold_since = t
                elif before in ("planned_stop", ""):
                    cold_ms = t - meter.cold_since if before else 10**12  # at start: cold
                    meter.warm = (t, min(1.0, cold_ms / (prof.cooled_after_min * 60_000)))
            tick = t == meter.next_tick
            if tick:
                meter.next_tick += step
            meter.energy += meter.kw * (t - meter.t) / 3_600_000
            meter.t, meter.kw = t, self._draw_power(t)
            out.append(Sample(t, m, "power_kw", meter.kw))
            if tick:
                out.append(Sample(t, m, "energy_kwh", round(meter.energy, 4)))

    def _draw_power(self, t: int) -> float:
        prof, meter = self.params.power, self._meter
        kw = prof.draw(meter.state)
        if meter.state == "running":
            kw *= 1 + prof.running_spread * self._erng.gauss(0, 1)
        if prof.warmup_min and meter.warm is not None and meter.state != "planned_stop":
            since, cooled = meter.warm
            fade = 1 - (t - since) / (prof.warmup_min * 60_000)
            kw += prof.warmup_kw * cooled * max(fade, 0.0)
        return _r(max(kw, 0.02)) if kw else 0.0


@dataclass
class _Meter:
    """The power meter's reading: the held power since `t`, and its integral."""

    next_tick: int
    t: int = 0
    kw: float = 0.0
    energy: float = 0.0
    state: str = ""
    cold_since: int = 0
    #: since when it heats up again, and how far it had cooled (0..1)
    warm: tuple[int, float] | None = None
    changes: deque[tuple[int, str]] = field(default_factory=deque)

    def __post_init__(self) -> None:
        self.t = self.next_tick


def _r(x: float) -> float:
    return round(float(x), 2)


def _speed_factor(text: str) -> float:
    """``-20%`` → 0.8, ``+10%`` → 1.1, ``80%`` → 0.8, ``0.8`` → 0.8."""
    text = text.strip()
    if text.endswith("%"):
        n = float(text[:-1])
        return 1 + n / 100 if text[0] in "+-" else n / 100
    return float(text)
