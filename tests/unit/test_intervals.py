import numpy as np

from fieldlab.domain.intervals import IntervalSet


def iv(*pairs: tuple[int, int]) -> IntervalSet:
    return IntervalSet.union_of(np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs]))


def as_list(s: IntervalSet) -> list[tuple[int, int]]:
    return list(zip(s.starts.tolist(), s.ends.tolist(), strict=True))


def test_union_merges_overlapping_and_touching_and_drops_empty():
    assert as_list(iv((5, 7), (0, 2), (1, 3), (3, 4), (9, 9))) == [(0, 4), (5, 7)]


def test_subtract_intersect_union():
    a, b = iv((0, 10), (20, 30)), iv((5, 25))
    assert as_list(a.subtract(b)) == [(0, 5), (25, 30)]
    assert as_list(a.intersect(b)) == [(5, 10), (20, 25)]
    assert as_list(a.union(b)) == [(0, 30)]
    assert as_list(a.subtract(IntervalSet.empty())) == [(0, 10), (20, 30)]


def test_overlap_measures_each_query_interval():
    p = iv((0, 10), (20, 30))
    got = p.overlap(np.array([-5, 5, 8, 30, 12]), np.array([5, 25, 22, 40, 18]))
    assert got.tolist() == [5, 10, 4, 0, 0]


def test_cumulative_on_empty_set_is_zero():
    assert IntervalSet.empty().cumulative(np.array([1, 2])).tolist() == [0, 0]
