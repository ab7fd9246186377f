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
