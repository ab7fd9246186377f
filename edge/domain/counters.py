"""Cumulative counters (domain.md §4): turning readings into unit deltas.

Each counter keeps a high-water mark, the largest reading since its last reset. A reading above
the mark adds the difference; a reading below it is a reset only when it is below half the mark
(or, for a counter that wraps at N, more than N/2 below it); any smaller decrease is a back-step
that adds nothing. So one late sample, or a meter read with other rounding, can never count a
whole counter value as units or kWh.

Between resets the mark is the running maximum, so a stretch without resets is one
`np.maximum.accumulate`; the loop runs once per reset, over a window that doubles until it holds
the next one, which keeps a year of readings with a daily reset linear in the readings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: the first look past a reset for the next one; doubled while none is found
_FIRST_LOOK = 4096


@dataclass(frozen=True)
class CounterSteps:
    """What each reading added (0 for the baseline, equal readings and back-steps), and which
    readings were back-steps (`counter_backstep`)."""

    deltas: np.ndarray
    backstep: np.ndarray  # bool

    @property
    def backsteps(self) -> int:
        return int(np.count_nonzero(self.backstep))


def counter_steps(
    values: np.ndarray, wrap: int | None = None, dtype: type = np.int64
) -> CounterSteps:
    """§4 over readings in time order; the first reading is a baseline. Units are integers; an
    energy meter (`energy_kwh`, domain.md §8) reads in ``dtype`` float64."""
    v: np.ndarray = np.asarray(values, dtype=dtype)
    n = v.size
    deltas: np.ndarray = np.zeros(n, dtype=dtype)
    backstep = np.zeros(n, dtype=bool)
    if n < 2:
        return CounterSteps(deltas, backstep)
    if np.all(v[1:] >= v[:-1]):  # the common case: nothing ever went down
        deltas[1:] = v[1:] - v[:-1]
        return CounterSteps(deltas, backstep)
    seg = 0  # the reading that set the mark afresh (baseline, reset or wrap)
    while seg < n - 1:
        look = _FIRST_LOOK
        while True:
            stop = min(n, seg + look)
            mark = np.maximum.accumulate(v[seg:stop])
            prev_mark, cur = mark[:-1], v[seg + 1 : stop]
            # a reset: below half the mark; a wrap: more than half the range below it
            restart = cur * 2 < prev_mark if wrap is None else (prev_mark - cur) * 2 > wrap
            hits = np.flatnonzero(restart)
            if hits.size or stop == n:
                break
            look *= 2
        last = seg + 1 + int(hits[0]) if hits.size else stop  # exclusive end of this stretch
        k = last - seg  # readings of this stretch, the one that set the mark included
        deltas[seg + 1 : last] = np.diff(mark[:k])
        backstep[seg + 1 : last] = v[seg + 1 : last] < mark[: k - 1]
        if last >= n:
            break
        before = mark[k - 1]
        deltas[last] = v[last] if wrap is None else v[last] + wrap - before
        seg = last
    return CounterSteps(deltas, backstep)


def counter_deltas(
    values: np.ndarray, wrap: int | None = None, dtype: type = np.int64
) -> np.ndarray:
    """What each reading added under §4 (see `counter_steps`)."""
    return counter_steps(values, wrap, dtype).deltas
