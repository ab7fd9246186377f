"""Energy of one machine over a window (domain.md §8): from held `power_kw` and/or the
`energy_kwh` meter, by state, per good unit, with cost and CO₂ from the site's `energy:` keys.

Held power is piecewise constant, and so are states: the window is cut at every power and state
boundary, and each piece's energy (kW × time) is summed by its state with one `bincount`, so a
day of 1 Hz power is a few array operations, not a loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fieldlab.domain.counters import counter_steps
from fieldlab.domain.history import Series
from fieldlab.domain.states import STATE_CODE, State

_MS_PER_H = 3_600_000.0
_OFFLINE = STATE_CODE[State.OFFLINE]
_NAMES = {code: name for name, code in STATE_CODE.items()}


@dataclass(frozen=True)
class Energy:
    kwh: float
    by_state_kwh: dict[str, float] = field(default_factory=dict)
    non_productive_kwh: float | None = None
    kwh_per_good: float | None = None
    cost: float | None = None
    currency: str | None = None
    co2_kg: float | None = None
    #: meter readings in the window that were back-steps (§4): they added nothing
    backsteps: int = 0

    def to_json(self) -> dict[str, Any]:
        """The §7 `energy` object."""

        def r(x: float | None, digits: int = 3) -> float | None:
            return None if x is None else round(x, digits)

        return {
            "kwh": r(self.kwh),
            "by_state_kwh": {k: r(v) for k, v in self.by_state_kwh.items()},
            "non_productive_kwh": r(self.non_productive_kwh),
            "kwh_per_good": r(self.kwh_per_good, 4),
            "cost": r(self.cost, 2),
            "currency": self.currency,
            "co2_kg": r(self.co2_kg),
        }


def held_power(power: Series, offline_starts: np.ndarray, now: int) -> tuple[np.ndarray, ...]:
    """(start, stop, kW) of each `power_kw` sample: it holds until the next sample or until an
    `offline` state begins, whichever is first; the last one until now."""
    ts = power.ts
    kw = np.array([float(v) for v in power.values], dtype=np.float64)
    stop = np.append(ts[1:], max(now, int(ts[-1])))
    if offline_starts.size:
        after = np.append(offline_starts, np.iinfo(np.int64).max)
        stop = np.minimum(stop, after[np.searchsorted(offline_starts, ts, side="right")])
    return ts, np.maximum(ts, stop), kw


def power_by_state(
    power: Series,
    seg_start: np.ndarray,
    seg_end: np.ndarray,
    codes: np.ndarray,
    start: int,
    end: int,
) -> dict[str, float]:
    """kWh of held power over ``[start, end)`` in each state of §3 (every state, 0 included).
    Time outside every state segment counts as offline, as the engine counts it."""
    offline_starts = np.sort(seg_start[codes == _OFFLINE])
    p_start, p_stop, kw = held_power(power, offline_starts, end)
    cuts = np.concatenate((p_start, p_stop, seg_start, seg_end, [start, end]))
    cuts = np.unique(np.clip(cuts, start, end))
    if cuts.size < 2:
        return {name: 0.0 for name in _NAMES.values()}
    left, dur = cuts[:-1], np.diff(cuts).astype(np.float64)
    j = np.searchsorted(p_start, left, side="right") - 1
    on = (j >= 0) & (left < p_stop[np.maximum(j, 0)])
    watts = np.where(on, kw[np.maximum(j, 0)], 0.0)
    k = np.searchsorted(seg_start, left, side="right") - 1
    inside = (k >= 0) & (left < seg_end[np.maximum(k, 0)])
    state = np.where(inside, codes[np.maximum(k, 0)], _OFFLINE)
    kwh = np.bincount(state, weights=watts * dur, minlength=max(_NAMES) + 1) / _MS_PER_H
    return {name: float(kwh[code]) for code, name in sorted(_NAMES.items())}


def meter_kwh(meter: Series, start: int, end: int, wrap: int | None) -> tuple[float, int]:
    """The meter's deltas with ``ts`` in the window (§4 rules; the first reading a baseline),
    and how many of its readings there were back-steps."""
    values = np.array([float(v) for v in meter.values], dtype=np.float64)
    steps = counter_steps(values, wrap, dtype=np.float64)
    inside = (meter.ts >= start) & (meter.ts < end)
    return float(np.sum(steps.deltas[inside])), int(np.count_nonzero(steps.backstep[inside]))


def compute_energy(
    power: Series,
    meter: Series,
    seg_start: np.ndarray,
    seg_end: np.ndarray,
    codes: np.ndarray,
    start: int,
    end: int,
    *,
    good: int | None,
    price_per_kwh: float | None = None,
    currency: str | None = None,
    co2_kg_per_kwh: float | None = None,
    meter_wrap: int | None = None,
) -> Energy | None:
    """§8 for one machine and window (``end`` already cut to now); None without either signal."""
    if power.ts.size == 0 and meter.ts.size == 0:
        return None
    by_state: dict[str, float] = {}
    non_productive = None
    if power.ts.size:
        by_state = power_by_state(power, seg_start, seg_end, codes, start, end)
        non_productive = sum(v for k, v in by_state.items() if k != State.RUNNING.value)
    kwh, backsteps = (
        meter_kwh(meter, start, end, meter_wrap) if meter.ts.size else (sum(by_state.values()), 0)
    )
    return Energy(
        kwh=kwh,
        by_state_kwh=by_state,
        non_productive_kwh=non_productive,
        kwh_per_good=kwh / good if good else None,
        cost=None if price_per_kwh is None else kwh * price_per_kwh,
        currency=currency if price_per_kwh is not None else None,
        co2_kg=None if co2_kg_per_kwh is None else kwh * co2_kg_per_kwh,
        backsteps=backsteps,
    )
