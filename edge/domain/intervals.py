"""Vectorised operations on sets of half-open time intervals ``[start, end)``.

An interval set is a pair of int64 arrays (starts, ends) in epoch milliseconds, sorted and
disjoint. Every KPI figure is a measure of such sets, so these few functions carry the whole
engine: no Python loop runs per second or per sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EMPTY = np.zeros(0, dtype=np.int64)


@dataclass(frozen=True)
class IntervalSet:
    """Sorted, disjoint, non-empty half-open intervals."""

    starts: np.ndarray
    ends: np.ndarray

    @classmethod
    def empty(cls) -> IntervalSet:
        return cls(EMPTY, EMPTY)

    @classmethod
    def single(cls, start: int, end: int) -> IntervalSet:
        if end <= start:
            return cls.empty()
        return cls(np.array([start], dtype=np.int64), np.array([end], dtype=np.int64))

    @classmethod
    def union_of(cls, starts: np.ndarray, ends: np.ndarray) -> IntervalSet:
        """Union of arbitrary (unsorted, overlapping, possibly empty) intervals."""
        starts = np.asarray(starts, dtype=np.int64)
        ends = np.asarray(ends, dtype=np.int64)
        keep = ends > starts
        starts, ends = starts[keep], ends[keep]
        if starts.size == 0:
            return cls.empty()
        order = np.argsort(starts, kind="stable")
        starts, ends = starts[order], ends[order]
        reach = np.maximum.accumulate(ends)
        # A new run begins where an interval starts after everything before it has ended.
        new_run = np.ones(starts.size, dtype=bool)
        new_run[1:] = starts[1:] > reach[:-1]
        run_id = np.cumsum(new_run) - 1
        out_starts = starts[new_run]
        out_ends = np.zeros(out_starts.size, dtype=np.int64)
        np.maximum.at(out_ends, run_id, ends)
        return cls(out_starts, out_ends)

    def select_longer(self, min_ms: float) -> IntervalSet:
        """The intervals at least ``min_ms`` long."""
        keep = (self.ends - self.starts) >= min_ms
        return IntervalSet(self.starts[keep], self.ends[keep])

    @property
    def total(self) -> int:
        return int(np.sum(self.ends - self.starts))

    def __len__(self) -> int:
        return int(self.starts.size)

    def cumulative(self, t: np.ndarray) -> np.ndarray:
        """Measure of ``self ∩ (-inf, t)`` for every t, in one vectorised pass."""
        t = np.asarray(t, dtype=np.int64)
        if self.starts.size == 0:
            return np.zeros(t.shape, dtype=np.int64)
        lengths = self.ends - self.starts
        before = np.concatenate(([0], np.cumsum(lengths)))
        idx = np.searchsorted(self.starts, t, side="right") - 1
        safe = np.clip(idx, 0, None)
        inside = np.clip(t - self.starts[safe], 0, lengths[safe])
        return np.where(idx >= 0, before[safe] + inside, 0)

    def overlap(self, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """``|[starts[i], ends[i]) ∩ self|`` for every i."""
        starts = np.asarray(starts, dtype=np.int64)
        ends = np.maximum(np.asarray(ends, dtype=np.int64), starts)
        out: np.ndarray = self.cumulative(ends) - self.cumulative(starts)
        return out

    def contains(self, t: np.ndarray) -> np.ndarray:
        t = np.asarray(t, dtype=np.int64)
        if self.starts.size == 0:
            return np.zeros(t.shape, dtype=bool)
        idx = np.searchsorted(self.starts, t, side="right") - 1
        safe = np.clip(idx, 0, None)
        return (idx >= 0) & (t < self.ends[safe])

    def _combine(self, other: IntervalSet, keep_a: bool, keep_b: bool, both: bool) -> IntervalSet:
        points = np.unique(np.concatenate((self.starts, self.ends, other.starts, other.ends)))
        if points.size < 2:
            return IntervalSet.empty()
        seg_s, seg_e = points[:-1], points[1:]
        in_a = self.contains(seg_s)
        in_b = other.contains(seg_s)
        keep = (in_a & in_b & both) | (in_a & ~in_b & keep_a) | (~in_a & in_b & keep_b)
        return IntervalSet.union_of(seg_s[keep], seg_e[keep])

    def intersect(self, other: IntervalSet) -> IntervalSet:
        return self._combine(other, keep_a=False, keep_b=False, both=True)

    def subtract(self, other: IntervalSet) -> IntervalSet:
        return self._combine(other, keep_a=True, keep_b=False, both=False)

    def union(self, other: IntervalSet) -> IntervalSet:
        return self._combine(other, keep_a=True, keep_b=True, both=True)

    def clip(self, start: int, end: int) -> IntervalSet:
        return self.intersect(IntervalSet.single(start, end))
