"""The OEE engine (domain.md §5): availability, performance, quality and where the time went.

Everything is computed on interval arrays with numpy: the state timeline becomes segments, stop
segments group into episodes, and every duration is a measure against the planned-time set via
its cumulative function. Cost grows with the number of samples, never with the window's seconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, TypedDict

import numpy as np

from fieldlab.config.site import EnergySettings, MachineConfig, SiteConfig
from fieldlab.domain.calendar import Calendar
from fieldlab.domain.counters import counter_steps
from fieldlab.domain.history import MachineHistory, Series
from fieldlab.domain.intervals import IntervalSet
from fieldlab.domain.states import (
    LOSS_CATEGORIES,
    NO_DATA_REASON,
    SMALL_STOP_CATEGORIES,
    STATE_CODE,
    STATES,
    STOP_STATES,
    State,
    state_code,
)
from fieldlab.kpi.energy import Energy, compute_energy

Dialect = Literal["classic", "iso"]

#: Length given to the unknown time before a machine's first state sample: long enough that
#: "offline" always wins the episode's category, short enough for exact float64 sums.
_UNKNOWN_SPAN_MS = 100 * 365 * 86_400_000

_NS = len(STATES)
_STOP_CODES = np.array([STATE_CODE[s] for s in STOP_STATES])
_SMALL_CODES = np.array([STATE_CODE[s] for s in SMALL_STOP_CATEGORIES])
#: by code: a stop state, a small-stop category (a lookup, where np.isin costs 40 µs a call)
_IS_STOP = np.isin(np.arange(_NS), _STOP_CODES)
_IS_SMALL = np.isin(np.arange(_NS), _SMALL_CODES)
_PLANNED_STOP = STATE_CODE[State.PLANNED_STOP]
_OFFLINE = STATE_CODE[State.OFFLINE]
#: a state's text by its code (an enum's `.value` costs a descriptor call apiece)
_STATE_TEXT = tuple(str(s.value) for s in STATES)


class ReasonRow(TypedDict):
    """Downtime by stop reason: `reason` None where nobody said why."""

    reason: str | None
    episodes: int
    downtime_s: float


@dataclass(frozen=True)
class Episodes:
    """Stop episodes that touch planned time in the window (for Pareto and reason entry)."""

    start: np.ndarray  # epoch ms, full extent
    end: np.ndarray
    category: list[str]
    small: np.ndarray  # bool
    reason: list[str | None]  # None: nobody said why
    planned_ms: np.ndarray  # |episode ∩ P|

    def select(self, mask: np.ndarray) -> Episodes:
        idx = np.flatnonzero(mask)
        return Episodes(
            self.start[idx],
            self.end[idx],
            [self.category[i] for i in idx],
            self.small[idx],
            [self.reason[i] for i in idx],
            self.planned_ms[idx],
        )


@dataclass
class OeeResult:
    machine: str
    start: int
    end: int
    dialect: Dialect
    planned_s: float
    run_s: float
    downtime_s: float
    small_stop_s: float
    ideal_s: float | None
    total: int | None
    good: int | None
    scrap: int | None
    losses_s: dict[str, float]
    reasons: list[ReasonRow]
    flags: list[str]
    episodes: Episodes = field(repr=False)
    #: Planned time the machine was observed (not `offline`), in seconds.
    observed_s: float = 0.0
    #: the figures of one order or product only (domain.md §5): ("order", "4711")
    part: tuple[str, str] | None = None
    #: domain.md §8; None for a machine with no energy signal.
    energy: Energy | None = None

    @property
    def coverage(self) -> float | None:
        """Share of planned time the machine was observed (domain.md §5)."""
        return _ratio(self.observed_s, self.planned_s)

    @property
    def no_data(self) -> bool:
        """Nothing of the planned time was observed (domain.md §5): no figure, not downtime."""
        return self.planned_s > 0 and self.observed_s <= 0

    @property
    def apt_s(self) -> float:
        """ISO 22400 actual production time: run time less small stops."""
        return self.run_s - self.small_stop_s

    @property
    def availability(self) -> float | None:
        if self.no_data:
            return None
        num = self.apt_s if self.dialect == "iso" else self.run_s
        return _ratio(num, self.planned_s)

    @property
    def performance(self) -> float | None:
        """Classic performance, or ISO effectiveness (ideal time over APT)."""
        if self.ideal_s is None or self.no_data:
            return None
        return _ratio(self.ideal_s, self.apt_s if self.dialect == "iso" else self.run_s)

    @property
    def quality(self) -> float | None:
        if self.good is None or self.total is None:
            return None
        return _ratio(self.good, self.total)

    @property
    def oee(self) -> float | None:
        """ideal time × quality / planned time, which is A × P × Q in either dialect."""
        if self.ideal_s is None or self.no_data:
            return None
        q = self.quality
        return _ratio(self.ideal_s * (1.0 if q is None else q), self.planned_s)


def _ratio(num: float, den: float) -> float | None:
    return None if den <= 0 else num / den


def compute_oee(
    history: MachineHistory,
    start: int,
    end: int,
    *,
    now: int,
    calendar: Calendar,
    machine: MachineConfig | None = None,
    micro_stop_threshold_s: float = 120.0,
    dialect: Dialect = "classic",
    energy: EnergySettings | None = None,
    reason_categories: Mapping[str, str] | None = None,
    within: IntervalSet | None = None,
) -> OeeResult:
    """OEE of one machine over ``[start, end)``, with ``end`` cut back to ``now``; with its
    energy (domain.md §8) where it has `power_kw` or `energy_kwh`. ``reason_categories`` are the
    site's (a stop explained as a changeover counts as setup, §5); ``within`` restricts the
    figures to those instants (one order's or one product's time, §5: no energy then)."""
    machine = machine or MachineConfig()
    end = max(start, min(end, now))
    flags: list[str] = []

    states = history.states.until(now)
    seg_start, seg_end, codes = _segments(states, start, now, history.states_complete, flags)

    planned_stop = IntervalSet.union_of(
        seg_start[codes == _PLANNED_STOP], seg_end[codes == _PLANNED_STOP]
    )
    planned = calendar.planned(start, end).subtract(planned_stop)
    if within is not None:
        planned = planned.intersect(within)
    planned_ms = planned.total
    offline = IntervalSet.union_of(seg_start[codes == _OFFLINE], seg_end[codes == _OFFLINE])
    offline_planned_ms = planned.intersect(offline).total

    ep = _episodes(
        seg_start,
        seg_end,
        codes,
        planned,
        micro_stop_threshold_s,
        history.reasons.until(now),
        reason_categories or {},
    )
    touch = ep.planned_ms > 0
    downtime_ms = float(np.sum(ep.planned_ms[~ep.small]))
    small_ms = float(np.sum(ep.planned_ms[ep.small]))
    losses = {c.value: 0.0 for c in LOSS_CATEGORIES}
    reasons: dict[str | None, list[float]] = {}
    for i in np.flatnonzero(touch & ~ep.small):
        losses[ep.category[i]] = losses.get(ep.category[i], 0.0) + float(ep.planned_ms[i]) / 1000
        slot = reasons.setdefault(ep.reason[i], [0, 0.0])
        slot[0] += 1
        slot[1] += float(ep.planned_ms[i]) / 1000
    reason_rows = [
        ReasonRow(reason=r, episodes=int(n), downtime_s=round(d, 3))
        for r, (n, d) in sorted(reasons.items(), key=lambda kv: (-kv[1][1], kv[0] or ""))
    ]

    gaps = offline.select_longer(micro_stop_threshold_s * 1000)
    counts = _counts(history, machine, start, end, now, flags, gaps, within)
    result = OeeResult(
        machine=history.machine,
        start=start,
        end=end,
        dialect=dialect,
        planned_s=planned_ms / 1000,
        run_s=(planned_ms - downtime_ms) / 1000,
        downtime_s=downtime_ms / 1000,
        small_stop_s=small_ms / 1000,
        ideal_s=counts.ideal_s,
        total=counts.total,
        good=counts.good,
        scrap=counts.scrap,
        losses_s={k: round(v, 3) for k, v in losses.items()},
        reasons=reason_rows,
        flags=flags,
        episodes=ep.select(touch),
        observed_s=(planned_ms - offline_planned_ms) / 1000,
    )
    prices = energy or EnergySettings()
    result.energy = (
        None
        if within is not None
        else compute_energy(
            history.power.until(now),
            history.meter.until(now),
            seg_start,
            seg_end,
            codes,
            start,
            end,
            good=counts.good,
            price_per_kwh=prices.price_per_kwh,
            currency=prices.currency,
            co2_kg_per_kwh=prices.co2_kg_per_kwh,
            meter_wrap=machine.wrap_of("energy_kwh"),
        )
    )
    if result.no_data:
        flags.append("no_data")
    if result.energy is not None and result.energy.backsteps:
        flags.append("counter_backstep")
    perf = result.performance
    if perf is not None and perf > 1.0 + 1e-9:
        flags.append("performance_above_1")
    result.flags = list(dict.fromkeys(flags))
    return result


def site_oee(
    history: MachineHistory,
    site: SiteConfig,
    start: int,
    end: int,
    *,
    now: int,
    micro_stop_threshold_s: float | None = None,
    dialect: Dialect | None = None,
    within: IntervalSet | None = None,
) -> OeeResult:
    """`compute_oee` with everything the site file says (calendar, the machine, the threshold,
    the dialect, energy prices, reason categories): the one way every view asks for a figure."""
    return compute_oee(
        history,
        start,
        end,
        now=now,
        calendar=site.shift_calendar(),
        machine=site.machine(history.machine),
        micro_stop_threshold_s=(
            site.oee.micro_stop_threshold_s
            if micro_stop_threshold_s is None
            else micro_stop_threshold_s
        ),
        dialect=dialect or site.oee.dialect,
        energy=site.energy,
        reason_categories=site.reason_categories,
        within=within,
    )


def _segments(
    states: Series, start: int, now: int, complete: bool, flags: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """State segments ``[ts_i, ts_i+1)``; the last runs until now."""
    ts = states.ts
    values = states.values.tolist()
    # a machine has a handful of distinct states: look each up once, not once a sample
    distinct = set(values)
    code = {v: state_code(v) for v in distinct}
    codes = np.fromiter(map(code.__getitem__, values), dtype=np.int64, count=ts.size)
    unknown = sorted({v for v in distinct if isinstance(v, str) and v not in STATE_CODE})
    if not all(isinstance(v, str) for v in distinct):  # 1 and 1.0 are one key: repr each
        unknown = sorted({*unknown, *(repr(v) for v in values if not isinstance(v, str))})
    flags.extend(f"unknown_state:{v}" for v in unknown)
    if complete or ts.size == 0:
        first = min(start, int(ts[0])) if ts.size else start
        ts = np.concatenate(([first - _UNKNOWN_SPAN_MS], ts))
        codes = np.concatenate(([_OFFLINE], codes))
    seg_end = np.empty_like(ts)
    seg_end[:-1] = ts[1:]
    seg_end[-1] = max(now, int(ts[-1]))
    return ts, seg_end, codes


def _episodes(
    seg_start: np.ndarray,
    seg_end: np.ndarray,
    codes: np.ndarray,
    planned: IntervalSet,
    threshold_s: float,
    reasons: Series,
    reason_categories: Mapping[str, str],
) -> Episodes:
    is_stop = _IS_STOP[codes]
    first = is_stop.copy()
    first[1:] &= ~is_stop[:-1]
    ep_of_seg = np.where(is_stop, np.cumsum(first) - 1, -1)
    n = int(first.sum())
    stop_idx = np.flatnonzero(is_stop)
    ids = ep_of_seg[stop_idx]
    seg_len = (seg_end - seg_start).astype(np.float64)

    ep_start = seg_start[first]
    ep_end = np.zeros(n, dtype=np.int64)
    np.maximum.at(ep_end, ids, seg_end[stop_idx])
    length = ep_end - ep_start
    by_state = np.bincount(
        ids * _NS + codes[stop_idx], weights=seg_len[stop_idx], minlength=n * _NS
    ).reshape(n, _NS)
    category_code = np.argmax(by_state, axis=1) if n else np.zeros(0, dtype=np.int64)
    small = (length < threshold_s * 1000) & _IS_SMALL[category_code]
    in_planned = planned.overlap(seg_start[stop_idx], seg_end[stop_idx])
    planned_ms = np.bincount(ids, weights=in_planned, minlength=n)

    reason: list[str | None] = [None] * n
    if len(reasons) and n:
        seg = np.searchsorted(seg_start, reasons.ts, side="right") - 1
        ok = seg >= 0
        ok[ok] &= is_stop[seg[ok]]
        r_ep = ep_of_seg[seg[ok]]
        r_val = reasons.values[ok]
        # The last reason in an episode wins; an empty reason clears it.
        last = r_ep.size - 1 - np.unique(r_ep[::-1], return_index=True)[1]
        for i in last:
            v = r_val[i]
            reason[r_ep[i]] = v if isinstance(v, str) and v else None
    category = [_STATE_TEXT[c] for c in category_code.tolist()]
    offline = _STATE_TEXT[_OFFLINE]
    for i, cat in enumerate(category):
        if reason[i] is None and cat == offline:
            reason[i] = NO_DATA_REASON
        elif reason[i] in reason_categories:
            # §5: the reason's category wins (a changeover explained is setup, never small)
            code = STATE_CODE[reason_categories[reason[i]]]  # type: ignore[index]
            category[i] = _STATE_TEXT[code]
            small[i] = bool(length[i] < threshold_s * 1000 and _IS_SMALL[code])
    return Episodes(ep_start, ep_end, category, small, reason, planned_ms)


@dataclass(frozen=True)
class _Counts:
    total: int | None
    good: int | None
    scrap: int | None
    ideal_s: float | None


def _deltas_in(
    series: Series, wrap: int | None, start: int, end: int, gaps: IntervalSet
) -> tuple[np.ndarray, np.ndarray, bool, bool]:
    """Times and deltas of the counter's samples in the window, whether one of them follows an
    unobserved gap (`counts_across_gap`: the units of the gap land at that sample), and whether
    one was a back-step (§4 `counter_backstep`: it added nothing)."""
    steps = counter_steps(series.values.astype(np.int64), wrap)
    deltas = steps.deltas
    inside = (series.ts >= start) & (series.ts < end)
    backstep = bool(np.any(steps.backstep[inside]))
    idx = np.flatnonzero(inside & (deltas != 0))
    idx = idx[idx > 0]
    across = False
    if idx.size and len(gaps):
        prev, cur = series.ts[idx - 1], series.ts[idx]
        # Gaps are sorted and disjoint: those starting before `cur` less those ended by `prev`.
        between = np.searchsorted(gaps.starts, cur, "left") - np.searchsorted(
            gaps.ends, prev, "right"
        )
        across = bool(np.any(between > 0))
    return series.ts[inside], deltas[inside], across, backstep


def _counts(
    history: MachineHistory,
    machine: MachineConfig,
    start: int,
    end: int,
    now: int,
    flags: list[str],
    gaps: IntervalSet,
    within: IntervalSet | None = None,
) -> _Counts:
    found = {
        sig: _deltas_in(s.until(now), machine.wrap_of(sig), start, end, gaps)
        for sig, s in history.counters.items()
        if len(s)
    }
    if within is not None:  # one order's or product's instants only
        found = {
            sig: (ts[k := within.contains(ts)], d[k], across, back)
            for sig, (ts, d, across, back) in found.items()
        }
    if any(across for _, _, across, _ in found.values()):
        flags.append("counts_across_gap")
    if any(back for _, _, _, back in found.values()):
        flags.append("counter_backstep")
    present = {sig: (ts, d) for sig, (ts, d, _, _) in found.items()}
    sums = {sig: int(d.sum()) for sig, (_, d) in present.items()}
    t, g, s = (sums.get(k) for k in ("count_total", "count_good", "count_scrap"))
    if t is not None and g is not None and s is not None and t != g + s:
        flags.append("counts_inconsistent")
    if t is None and g is not None and s is not None:
        t = g + s
    elif t is not None and g is None and s is not None:
        g = t - s
    elif t is not None and g is not None and s is None:
        s = t - g
    entered = _scrap_entered(history.scrap_entries.until(now), start, end, within)
    if entered and t is not None:
        # §2: units found bad after the counter counted them good move from good to scrap at
        # their time, never making good negative; with only a total, they make the quality known
        if g is None:
            g, s = t, 0
        moved = min(entered, max(g, 0))
        g, s = g - moved, (s or 0) + moved
    if (g is not None and g < 0) or (s is not None and s < 0):
        # Counters that disagree (more scrap than total after separate resets): never report
        # negative units, say so instead.
        flags.append("counts_inconsistent")
        g = None if g is None else max(g, 0)
        s = None if s is None else max(s, 0)
    if "count_total" in present:
        unit_events = [present["count_total"]]
    elif "count_good" in present and "count_scrap" in present:
        unit_events = [present["count_good"], present["count_scrap"]]
    elif "count_good" in present:
        unit_events = [present["count_good"]]
    else:
        unit_events = []
    if not present:
        flags.append("no_counts")
    elif g is None or t is None:
        flags.append("quality_assumed_1")
    if not unit_events:
        return _Counts(t, g, s, None)
    ts = np.concatenate([e[0] for e in unit_events])
    units = np.concatenate([e[1] for e in unit_events]).astype(np.float64)
    ict = _ideal_cycle_times(history.products, machine, ts, flags)
    if np.any(np.isnan(ict[units > 0])):
        flags.append("no_ideal_cycle_time")
        return _Counts(t, g, s, None)
    return _Counts(t, g, s, float(np.sum(units * np.nan_to_num(ict))))


def _scrap_entered(entries: Series, start: int, end: int, within: IntervalSet | None) -> int:
    """Units entered as scrap with `ts` in the window (a read carries the last one from before
    it: that one belongs to an earlier window)."""
    if not len(entries):
        return 0
    inside = (entries.ts >= start) & (entries.ts < end)
    if within is not None:
        inside &= within.contains(entries.ts)
    values = entries.values[inside]
    return int(sum(int(v) for v in values if isinstance(v, int | float) and v > 0))


def _ideal_cycle_times(
    products: Series, machine: MachineConfig, ts: np.ndarray, flags: list[str]
) -> np.ndarray:
    """Ideal cycle time (s) in force at each instant: the running product's, else the machine's."""
    default = machine.ideal_cycle_time_s if machine.ideal_cycle_time_s else np.nan
    if len(products) == 0 or ts.size == 0:
        return np.full(ts.shape, default, dtype=np.float64)
    idx = np.searchsorted(products.ts, ts, side="right") - 1
    names = np.where(idx >= 0, products.values[np.clip(idx, 0, None)], np.array(None))
    uniq, inverse = np.unique(names.astype(str), return_inverse=True)
    table = np.empty(uniq.size, dtype=np.float64)
    for i, name in enumerate(uniq):
        spec = machine.products.get(name)
        if spec is not None:
            table[i] = spec.ideal_cycle_time_s
        else:
            table[i] = default
            if name != "None":
                flags.append(f"unknown_product:{name}")
    return table[inverse]
