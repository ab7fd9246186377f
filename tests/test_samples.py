import pytest

from fieldlab.domain.samples import SampleError, format_ts, make_sample, parse_ts


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
    assert make_sample(0, "m", "state", "PACKML_6").value == "PACKML_6"  # stored as received
