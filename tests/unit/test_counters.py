import numpy as np

from fieldlab.domain.counters import counter_deltas
from tests.helpers import MIN, Machine, oee


def test_first_reading_is_a_baseline_and_equal_readings_add_nothing():
    assert counter_deltas(np.array([100, 100, 103, 103, 110])).tolist() == [0, 0, 3, 0, 7]


def test_decrease_is_a_reset_the_new_value_is_the_delta():
    assert counter_deltas(np.array([500, 510, 4, 9])).tolist() == [0, 10, 4, 5]


def test_declared_wrap_turns_a_decrease_into_a_wrap():
    # 65530 -> 3 on a 16-bit register: 6 units to 65536 and 3 after it.
    assert counter_deltas(np.array([65530, 3]), wrap=65536).tolist() == [0, 9]


def test_counter_reset_and_wrap_through_the_engine():
    cfg_text = """
machines:
  press-1: {ideal_cycle_time_s: 1, counters: {count_total: {wrap: 65536}}}
  press-2: {ideal_cycle_time_s: 1}
"""
    from tests.helpers import site

    cfg = site(cfg_text)
    for machine, expected in (("press-1", 10 + 6 + 3), ("press-2", 10 + 3)):
        m = Machine(machine).state(0, "running")
        m.at(0, "count_total", 65520).at(MIN, "count_total", 65530).at(2 * MIN, "count_total", 3)
        # a re-delivered reading at the same value changes nothing
        m.at(3 * MIN, "count_total", 3)
        assert oee(m, 0, 10 * MIN, cfg).total == expected


# --- domain.md §4: the high-water mark, resets below half, back-steps -------------------------


def _reference(values, wrap=None):
    """§4 read aloud, one reading at a time: the property tests' oracle."""
    out, back, mark = [0], [False], values[0]
    for v in values[1:]:
        if v > mark:
            out.append(v - mark)
            back.append(False)
            mark = v
        elif v == mark:
            out.append(0)
            back.append(False)
        elif wrap is None and v * 2 < mark:
            out.append(v)
            back.append(False)
            mark = v
        elif wrap is not None and (mark - v) * 2 > wrap:
            out.append(v + wrap - mark)
            back.append(False)
            mark = v
        else:
            out.append(0)
            back.append(True)
    return out, back


def test_the_worked_check_of_section_4():
    from fieldlab.domain.counters import counter_steps

    steps = counter_steps(np.array([1000, 1500, 1499, 1600]))
    assert int(steps.deltas.sum()) == 600 and steps.backsteps == 1  # 1499 is a back-step
    assert int(counter_deltas(np.array([1000, 1500, 200, 700])).sum()) == 1200  # 200 is a reset
    meter = counter_steps(np.array([74.9962, 74.996, 75.5]), dtype=np.float64)
    assert abs(float(meter.deltas.sum()) - 0.5038) < 1e-9 and meter.backsteps == 1


def test_a_wrapping_counter_steps_back_less_than_half_its_range():
    # 16-bit register: 65530 -> 65529 is a back-step, 65529 -> 3 a wrap (6 + 3 after 65530)
    assert counter_deltas(np.array([65530, 65529, 3]), wrap=65536).tolist() == [0, 0, 9]


def test_one_late_sample_of_a_big_counter_never_counts_the_counter():
    # the S7 case: a counter at 500,000 and a read stamped before one already written
    assert counter_deltas(np.array([500_000, 500_010, 500_005, 500_020])).sum() == 20


def test_resets_far_apart_take_the_long_path_and_agree_with_the_reference():
    # more readings than the first look past a reset, so the look doubles
    rng = np.random.default_rng(7)
    parts = []
    for _ in range(5):
        n = int(rng.integers(3000, 20000))
        run = np.cumsum(rng.integers(0, 3, n)) + 1000
        run[rng.integers(1, n, 20)] -= 1  # back-steps of one
        parts.append(run)
    values = np.concatenate(parts)
    from fieldlab.domain.counters import counter_steps

    got = counter_steps(values)
    want, back = _reference(values.tolist())
    assert got.deltas.tolist() == want
    assert got.backstep.tolist() == back


from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_readings = st.lists(st.integers(0, 2000), min_size=1, max_size=60)


@given(_readings, st.sampled_from([None, 256, 4096]))
def test_counter_rules_agree_with_the_rules_read_aloud(values, wrap):
    from fieldlab.domain.counters import counter_steps

    got = counter_steps(np.array(values), wrap)
    want, back = _reference(values, wrap)
    assert got.deltas.tolist() == want
    assert got.backstep.tolist() == back


@given(
    st.integers(100, 10**6),  # a back-step of 21 from a mark under 42 would be a reset
    st.lists(st.integers(0, 20), min_size=1, max_size=80),
    st.data(),
)
def test_an_interleaved_counter_with_small_back_steps_never_counts_more_than_max_minus_min(
    base, increments, data
):
    """A counter read in order, then its samples shuffled locally (late reads stamped before
    earlier ones) and read again with the other rounding of a second path: never more units
    than the counter really moved."""
    true = np.cumsum([base, *increments])
    order = list(range(true.size))
    i = 1
    while i < len(order):
        if data.draw(st.booleans()):
            # neighbours swapped, never a swapped one again: each read moves one place at most
            # (a chain of swaps would carry the first read to the end, a back-step of the
            # whole run that the reset rule rightly takes for a reset)
            order[i - 1], order[i] = order[i], order[i - 1]
            i += 1
        i += 1
    seen = true[order] - np.array([data.draw(st.integers(0, 1)) for _ in order])
    seen = np.maximum(seen, 0)
    total = int(counter_deltas(seen).sum())
    assert 0 <= total <= int(true.max() - true.min()) + 1


@given(_readings, st.integers(0, 60))
def test_splitting_the_readings_keeps_the_sum(values, cut):
    """Deltas are attributed to their reading: any split of the readings sums to the whole."""
    deltas = counter_deltas(np.array(values))
    cut = min(cut, len(values))
    assert int(deltas[:cut].sum()) + int(deltas[cut:].sum()) == int(deltas.sum())


def test_back_steps_are_flagged_by_the_engine_for_units_and_energy():
    m = Machine("press-1").state(0, "running")
    m.at(0, "count_total", 1000).at(MIN, "count_total", 1500).at(2 * MIN, "count_total", 1499)
    m.at(3 * MIN, "count_total", 1600)
    r = oee(m, 0, 10 * MIN)
    assert r.total == 600 and "counter_backstep" in r.flags
    e = Machine("lathe-1").state(0, "running")
    e.at(0, "energy_kwh", 74.9962).at(1, "energy_kwh", 74.996).at(MIN, "energy_kwh", 75.5)
    r = oee(e, 0, 10 * MIN)
    assert r.energy is not None and abs(r.energy.kwh - 0.5038) < 1e-9
    assert "counter_backstep" in r.flags
