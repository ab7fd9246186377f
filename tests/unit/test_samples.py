import io
import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fieldlab.domain.samples import (
    TS_LIMIT_MS,
    Sample,
    SampleError,
    coerce_value,
    format_ts,
    make_sample,
    parse_ts,
)
from fieldlab.store.files import write_jsonl


def test_timestamps_rfc3339_with_offset_z_and_epoch_ms_agree():
    ms = 1772427600000  # 2026-03-02T05:00:00Z
    assert parse_ts("2026-03-02T06:00:00+01:00") == ms
    assert parse_ts("2026-03-02T05:00:00Z") == ms
    assert parse_ts("2026-03-02T05:00:00.000z") == ms
    assert parse_ts(ms) == ms
    assert parse_ts(str(ms)) == ms
    assert format_ts(ms + 7) == "2026-03-02T05:00:00.007Z"


@pytest.mark.parametrize(
    "raw, words",
    [
        ("2026-03-02T06:00:00", "no UTC offset"),
        ("yesterday", "not a timestamp"),
        (True, "not a timestamp"),
        (1.5, "not a timestamp"),
    ],
)
def test_bad_timestamps_say_why(raw, words):
    with pytest.raises(SampleError, match=words):
        parse_ts(raw)


@pytest.mark.parametrize(
    "machine, signal, value, words",
    [
        ("Press 1", "state", "running", "machine"),
        ("press-1", "State", "running", "signal"),
        ("press-1", "state", 3, "must be text"),
        ("press-1", "state", "", "must not be empty"),
        ("press-1", "count_total", -1, "whole number >= 0"),
        ("press-1", "count_total", 2.5, "whole number >= 0"),
        ("press-1", "count_total", True, "must be a number"),
        ("press-1", "temperature", float("nan"), "must be a number"),
        ("press-1", "temperature", "hot", "must be a number"),
    ],
)
def test_bad_samples_name_the_part(machine, signal, value, words):
    with pytest.raises(SampleError, match=words):
        make_sample(0, machine, signal, value)


def test_values_are_typed_by_signal():
    assert make_sample(0, "m", "count_total", 5.0).value == 5
    assert make_sample(0, "m", "count_good", "7", from_text=True).value == 7
    assert make_sample(0, "m", "temperature", "21.5", from_text=True).value == 21.5
    assert make_sample(0, "m", "reason", "").value == ""  # empty reason clears
    assert make_sample(0, "m", "order", "PO-4711").value == "PO-4711"  # §2: an order is text
    assert make_sample(0, "m", "order", "").value == ""  # and "" ends it
    assert make_sample(0, "m", "state", "PACKML_6").value == "PACKML_6"  # stored as received


def test_a_device_boolean_is_a_process_value_one_or_zero():
    """domain.md §2: a bit or `true`/`false` is 1 or 0, from JSON and from text alike; a counter or
    a meter is never a bit."""
    assert make_sample(0, "m", "door_open", False).value == 0
    assert type(make_sample(0, "m", "door_open", True).value) is int
    assert make_sample(0, "m", "door_open", "TRUE", from_text=True).value == 1
    assert make_sample(0, "m", "door_open", "false", from_text=True).value == 0
    for signal in ("count_total", "energy_kwh", "power_kw"):
        with pytest.raises(SampleError, match="must be a number"):
            make_sample(0, "m", signal, True)


def _rule(signal: str, raw: object) -> object:
    """domain.md §1's value rules, written plainly: what `coerce_value` must give."""
    if signal in ("state", "reason", "product"):
        if not isinstance(raw, str) or (raw == "" and signal != "reason"):
            return SampleError
        return raw
    if isinstance(raw, bool) and not signal.startswith("count_") and signal != "power_kw":
        return int(raw)  # §2: a device's boolean is the process value 1 or 0
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return SampleError
    if isinstance(raw, float) and not math.isfinite(raw):
        return SampleError
    if signal.startswith("count_"):
        if raw < 0 or not float(raw).is_integer():
            return SampleError
        raw = int(raw)
    if isinstance(raw, int) and not -(2**63) <= raw < 2**63:
        return SampleError
    return raw


@given(
    signal=st.sampled_from(["temperature", "count_total", "count_scrap", "state", "power_kw"]),
    raw=st.one_of(
        st.integers(min_value=-(2**70), max_value=2**70),
        st.sampled_from([2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 0, -0.0]),
        st.floats(allow_nan=True, allow_infinity=True),
        st.booleans(),
        st.text(max_size=3),
        st.none(),
    ),
)
def test_values_follow_the_rules_on_the_fast_path_too(signal, raw):
    """`coerce_value` takes plain numbers a quicker way (the MQTT hot path): the same rules."""
    want = _rule(signal, raw)
    if want is SampleError:
        with pytest.raises(SampleError):
            coerce_value(signal, raw)
    else:
        got = coerce_value(signal, raw)
        assert got == want and type(got) is type(want)


def test_epoch_ms_beyond_what_a_store_holds_are_refused_on_the_fast_path_too():
    assert parse_ts(TS_LIMIT_MS) == TS_LIMIT_MS and parse_ts(-TS_LIMIT_MS) == -TS_LIMIT_MS
    for raw in (TS_LIMIT_MS + 1, -TS_LIMIT_MS - 1, True):
        with pytest.raises(SampleError):
            parse_ts(raw)


@given(
    st.lists(
        st.builds(
            Sample,
            st.integers(min_value=-TS_LIMIT_MS, max_value=TS_LIMIT_MS),
            st.sampled_from(["press-1", "m", "line_2"]),
            st.sampled_from(["state", "count_total", "temp"]),
            st.one_of(
                st.integers(min_value=-(2**63), max_value=2**63 - 1),
                st.floats(allow_nan=False, allow_infinity=False),
                st.text(max_size=8),
            ),
        ),
        max_size=30,
    )
)
def test_jsonl_lines_are_what_json_dumps_writes(samples):
    """The truth log's writer builds its lines itself (it writes millions): the same bytes."""
    out = io.StringIO()
    assert write_jsonl(samples, out) == len(samples)
    want = "".join(json.dumps(s.to_json(), separators=(",", ":")) + "\n" for s in samples)
    assert out.getvalue() == want


def test_a_scrap_entry_is_a_whole_number_of_units_above_zero():
    """domain.md §2: `scrap_entry` is an integer > 0; anything else is rejected with a reason."""
    import pytest

    from fieldlab.domain.samples import SampleError, coerce_value

    assert coerce_value("scrap_entry", 3) == 3
    assert coerce_value("scrap_entry", "4", from_text=True) == 4
    for bad in (0, -2, 1.5, True, "x"):
        with pytest.raises(SampleError, match="scrap_entry must be a whole number > 0"):
            coerce_value("scrap_entry", bad)
