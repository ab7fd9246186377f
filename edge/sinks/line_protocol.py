"""InfluxDB line protocol built directly (influxdb-client's Point is ~50k points/s).

One schema, fixed by the signal, so a field-type conflict cannot arise: the measurement is the
signal, the tag is the machine, the field is ``value`` — an integer for counters, a string for
state/reason/product, a float for every process value (even when a device sends 21).
"""

from __future__ import annotations

from edge.domain.samples import COUNTER_SIGNALS, TEXT_SIGNALS, Sample

_MEASUREMENT = str.maketrans({",": r"\,", " ": r"\ "})
_TAG = str.maketrans({",": r"\,", " ": r"\ ", "=": r"\="})


def field_kind(signal: str) -> str:
    if signal in COUNTER_SIGNALS:
        return "int"
    if signal in TEXT_SIGNALS:
        return "str"
    return "float"


def encode_value(signal: str, value: object) -> str:
    kind = field_kind(signal)
    if kind == "int":
        return f"{int(value)}i"  # type: ignore[call-overload]
    if kind == "str":
        text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{text}"'
    return repr(float(value))  # type: ignore[arg-type]


def to_lines(samples: list[Sample]) -> str:
    """Line protocol with millisecond timestamps (write with precision=ms)."""
    return "\n".join(
        f"{s.signal.translate(_MEASUREMENT)},machine={s.machine.translate(_TAG)} "
        f"value={encode_value(s.signal, s.value)} {s.ts}"
        for s in samples
    )


def decode_value(signal: str, value: object) -> object:
    """A value read back over InfluxQL, in the type the store contract promises."""
    kind = field_kind(signal)
    if value is None or kind == "str":
        return value
    return int(value) if kind == "int" else float(value)  # type: ignore[arg-type]
