"""A question's answer, found in the data: the simulator's ground truth for the answer key, the
store for `recipe check` (the full protocol path). One function over an `Evidence`, so the two
are computed the same way and can only differ where the data differs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

import numpy as np

from fieldlab.config.site import SiteConfig
from fieldlab.domain.durations import parse_duration_ms
from fieldlab.domain.history import Series, histories_from_samples
from fieldlab.domain.samples import Sample
from fieldlab.kpi.oee import OeeResult, site_oee
from fieldlab.kpi.query import store_oee
from fieldlab.learning.questions import AnswerSpec
from fieldlab.store.base import Store

Answer = float | int | str


class Evidence(Protocol):
    def oee(self, machine: str, start: int, end: int, threshold_s: float | None) -> OeeResult: ...

    def series(self, machine: str, signal: str, start: int, end: int) -> Series: ...


class TruthEvidence:
    """The simulator's ground truth: every sample it made, in memory."""

    def __init__(self, samples: Iterable[Sample], site: SiteConfig):
        self.samples = list(samples)
        self.site = site
        self.hist = histories_from_samples(self.samples)
        self.cal = site.shift_calendar()

    def oee(self, machine: str, start: int, end: int, threshold_s: float | None) -> OeeResult:
        return site_oee(
            self.hist[machine], self.site, start, end, now=end, micro_stop_threshold_s=threshold_s
        )

    def series(self, machine: str, signal: str, start: int, end: int) -> Series:
        rows = [
            (s.ts, s.value)
            for s in self.samples
            if s.machine == machine and s.signal == signal and start <= s.ts < end
        ]
        return Series.of([r[0] for r in rows], [r[1] for r in rows])


class StoreEvidence:
    """What the gateway stored: the path participants read in the dashboard."""

    def __init__(self, store: Store, site: SiteConfig):
        self.store, self.site = store, site

    def oee(self, machine: str, start: int, end: int, threshold_s: float | None) -> OeeResult:
        return store_oee(
            self.store, self.site, machine, start, end, now=end, micro_stop_threshold_s=threshold_s
        )

    def series(self, machine: str, signal: str, start: int, end: int) -> Series:
        s = self.store.read(machine, signal, start, end)
        keep = s.ts >= start
        return Series(s.ts[keep], s.values[keep])


def window(spec: AnswerSpec, start: int, duration_ms: int) -> tuple[int, int]:
    lo = start + parse_duration_ms(spec.start)
    hi = start + (parse_duration_ms(spec.end) if spec.end else duration_ms)
    return lo, hi


def derive(
    spec: AnswerSpec,
    ev: Evidence,
    machines: list[str],
    start: int,
    duration_ms: int,
    choices: list[str] | None = None,
) -> Answer:
    """The answer: a percentage (2 decimals), a count, minutes (2 decimals), a choice's code,
    or an instant (epoch ms)."""
    lo, hi = window(spec, start, duration_ms)
    if spec.kind == "drifting":
        return _drifting(spec, ev, choices or [], lo, hi)
    value = _value(spec, ev, machines, lo, hi)
    if spec.minus_from is not None and spec.minus_to is not None:
        before = _value(
            spec,
            ev,
            machines,
            start + parse_duration_ms(spec.minus_from),
            start + parse_duration_ms(spec.minus_to),
        )
        if not isinstance(value, int | float) or not isinstance(before, int | float):
            raise ValueError(f"{spec.kind}: a change needs numbers")
        value = round(value - before, 2)
    return value


def _value(spec: AnswerSpec, ev: Evidence, machines: list[str], lo: int, hi: int) -> Answer:
    k = spec.kind
    among = spec.machines or machines
    if k == "lowest_oee":
        return min(among, key=lambda m: _ratio(ev.oee(m, lo, hi, spec.threshold_s).oee))
    if k == "most_loss":
        state = spec.state or ""
        return max(among, key=lambda m: ev.oee(m, lo, hi, spec.threshold_s).losses_s.get(state, 0))
    machine = spec.machine or ""
    if k == "first_above":
        s = ev.series(machine, spec.signal or "", lo, hi)
        values = np.array([float(v) for v in s.values]) if len(s) else np.array([])
        above = np.flatnonzero(values > float(spec.above or 0))
        if not len(above):
            raise ValueError(f"{machine} {spec.signal} never rises above {spec.above}")
        return int(s.ts[above[0]])
    r = ev.oee(machine, lo, hi, spec.threshold_s)
    if k in ("availability", "performance", "quality", "oee"):
        x = getattr(r, k)
        if x is None:
            raise ValueError(f"{machine}: no {k} in that window")
        return round(100 * x, 2)
    if k in ("good", "scrap", "total"):
        n = getattr(r, k)
        if n is None:
            raise ValueError(f"{machine}: no {k} count in that window")
        return int(n)
    if k == "loss_min":
        return round(r.losses_s.get(spec.state or "", 0.0) / 60, 2)
    if k == "small_stop_min":
        return round(r.small_stop_s / 60, 2)
    if k == "reason_min":
        return round(sum(x["downtime_s"] for x in r.reasons if x["reason"] == spec.reason) / 60, 2)
    if k in ("episodes", "mean_episode_min"):
        ep = r.episodes
        pick = [
            i
            for i, c in enumerate(ep.category)
            if c == spec.state and not ep.small[i] and ep.planned_ms[i] > 0
        ]
        if k == "episodes":
            return len(pick)
        if not pick:
            raise ValueError(f"{machine}: no {spec.state} in that window")
        return round(float(np.mean([ep.planned_ms[i] for i in pick])) / 60_000, 2)
    if k == "top_reason":
        named = [x for x in r.reasons if x["reason"]]
        if not named:
            raise ValueError(f"{machine}: no stop with a reason in that window")
        return str(named[0]["reason"])
    if k == "biggest_loss":
        losses = {**r.losses_s, "small_stops": r.small_stop_s}
        return max(sorted(losses), key=lambda c: losses[c])
    raise ValueError(f"unknown answer kind {k!r}")


def _drifting(spec: AnswerSpec, ev: Evidence, choices: list[str], lo: int, hi: int) -> str:
    """Of the choices (process values), the one whose last hour moved furthest from its first
    hour, in units of its own first-hour spread."""
    hour = 3_600_000

    def moved(signal: str) -> float:
        first = ev.series(spec.machine or "", signal, lo, lo + hour)
        last = ev.series(spec.machine or "", signal, hi - hour, hi)
        if not len(first) or not len(last):
            return 0.0
        a = first.values.astype(float)
        b = last.values.astype(float)
        spread = float(np.std(a)) or 1e-9
        return abs(float(np.mean(b)) - float(np.mean(a))) / spread

    return max(choices, key=moved)


def _ratio(x: float | None) -> float:
    return 2.0 if x is None else x
