"""Cumulative counters (DOMAIN.md §4): turning readings into unit deltas."""

from __future__ import annotations

import numpy as np


def counter_deltas(
    values: np.ndarray, wrap: int | None = None, dtype: type = np.int64
) -> np.ndarray:
    """Delta of every reading against the one before; the first reading is a baseline (0).

    Equal readings add nothing, so re-deliveries are harmless. A decrease is a reset (the delta is
    the new value) unless the counter wraps at ``wrap``, when it is ``new + wrap - old``. Units
    are integers; an energy meter (`energy_kwh`, DOMAIN.md §8) reads in ``dtype`` float64.
    """
    values = np.asarray(values, dtype=dtype)
    deltas: np.ndarray = np.zeros(values.shape, dtype=dtype)
    if values.size < 2:
        return deltas
    prev, cur = values[:-1], values[1:]
    step = cur - prev
    if wrap is None:
        step = np.where(step < 0, cur, step)
    else:
        step = np.where(step < 0, cur + wrap - prev, step)
    deltas[1:] = step
    return deltas
