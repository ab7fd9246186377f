"""Samples (domain.md §1–2): the one record every part of the kit exchanges.

Validation lives here so that ingest, the gateway and the simulators reject the same things with
the same words.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fieldlab.domain.states import STATE_CODE

MACHINE_RE = re.compile(r"[a-z0-9][a-z0-9_-]*")
SIGNAL_RE = re.compile(r"[a-z0-9_]+")

COUNTER_SIGNALS: tuple[str, ...] = ("count_total", "count_good", "count_scrap")
TEXT_SIGNALS: frozenset[str] = frozenset({"state", "reason", "product", "order"})
#: power is integrated per state and the meter is a counter (domain.md §8): both kept as read
ENERGY_SIGNALS: tuple[str, ...] = ("power_kw", "energy_kwh")


def is_process_value(signal: str) -> bool:
    """A number with no rule of its own (°C, bar, rpm): what retention may thin out."""
    return not (signal in TEXT_SIGNALS or signal in COUNTER_SIGNALS or signal in ENERGY_SIGNALS)


Value = str | int | float


class SampleError(ValueError):
    """A sample that breaks the contract; the message says which part and why."""


@dataclass(frozen=True, slots=True)
class Sample:
    ts: int  # epoch milliseconds, UTC
    machine: str
    signal: str
    value: Value

    def to_json(self) -> dict[str, Value]:
        return {
            "ts": format_ts(self.ts),
            "machine": self.machine,
            "signal": self.signal,
            "value": self.value,
        }


#: Epoch milliseconds a store can hold: InfluxDB keeps nanoseconds in 64 bits (1677-2262).
TS_LIMIT_MS = 9_223_372_036_854


def parse_ts(raw: object) -> int:
    """RFC 3339 with an offset, or integer epoch milliseconds, to epoch milliseconds."""
    if type(raw) is int and -TS_LIMIT_MS <= raw <= TS_LIMIT_MS:
        return raw  # the common case (a batch of epoch ms), ahead of the general rules
    ms = _parse_ts(raw)
    if not -TS_LIMIT_MS <= ms <= TS_LIMIT_MS:
        raise SampleError(f"ts: {raw!r} is outside the years 1677-2262 (epoch ms expected)")
    return ms


def _parse_ts(raw: object) -> int:
    if isinstance(raw, bool):
        raise SampleError(f"ts: {raw!r} is not a timestamp (RFC 3339 with offset, or epoch ms)")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    if isinstance(raw, str):
        text = raw.strip()
        if re.fullmatch(r"-?\d+", text):
            return int(text)
        try:
            dt = datetime.fromisoformat(text.replace("z", "Z"))
        except ValueError:
            raise SampleError(
                f"ts: {raw!r} is not a timestamp (RFC 3339 with offset, or epoch ms)"
            ) from None
        if dt.tzinfo is None:
            raise SampleError(f"ts: {raw!r} has no UTC offset (add Z or +01:00)")
        return to_ms(dt)
    raise SampleError(f"ts: {raw!r} is not a timestamp (RFC 3339 with offset, or epoch ms)")


def to_ms(dt: datetime) -> int:
    delta = dt - datetime(1970, 1, 1, tzinfo=UTC)
    return delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def from_ms(ms: int) -> datetime:
    """Epoch ms as an aware UTC datetime. Not `datetime.fromtimestamp`: on Windows it raises
    for times before 1970 (a PLC clock never set) and after 3000; this works for every `ts`."""
    return _EPOCH + timedelta(milliseconds=int(ms))


def format_ts(ms: int) -> str:
    """UTC RFC 3339 with milliseconds, e.g. ``2026-03-02T05:00:00.000Z``."""
    return _second(ms // 1000) + f"{ms % 1000:03d}Z"


@functools.lru_cache(maxsize=4096)
def _second(s: int) -> str:
    """The text up to the milliseconds: many samples share their second (a simulator's tick,
    a truth log of millions of lines: strftime was a fifth of writing one)."""
    return from_ms(s * 1000).strftime("%Y-%m-%dT%H:%M:%S.")


def coerce_value(signal: str, raw: object, *, from_text: bool = False) -> Value:
    """Check a value against its signal; ``from_text`` parses numbers written as text (CSV)."""
    # The common cases first (numbers from JSON, a microsecond a value on the MQTT hot path);
    # `type(...) is` leaves bools to the rules below.
    if signal == "scrap_entry":
        number = _number(raw, from_text) if not isinstance(raw, bool) else None
        if number is None or not float(number).is_integer() or not 0 < number < _INT64:
            raise SampleError(f"value: scrap_entry must be a whole number > 0, got {raw!r}")
        return int(number)
    if type(raw) is float:
        if math.isfinite(raw) and signal not in TEXT_SIGNALS and signal not in COUNTER_SIGNALS:
            return raw
    elif (
        type(raw) is int
        and -_INT64 <= raw < _INT64
        and signal not in TEXT_SIGNALS
        and (raw >= 0 or signal not in COUNTER_SIGNALS)
    ):
        return raw
    if signal in TEXT_SIGNALS:
        if not isinstance(raw, str):
            raise SampleError(f"value: {signal} must be text, got {raw!r}")
        if signal in ("state", "product") and raw == "":
            raise SampleError(f"value: {signal} must not be empty")
        return raw
    if is_process_value(signal):
        bit = _bit(raw, from_text)
        if bit is not None:
            return bit  # §2: a device's boolean (a bit, true/false) is the process value 1 or 0
    number = _number(raw, from_text)
    if number is None:
        raise SampleError(f"value: {signal} must be a number, got {raw!r}")
    if signal in COUNTER_SIGNALS:
        if not float(number).is_integer() or number < 0:
            raise SampleError(f"value: {signal} must be a whole number >= 0, got {raw!r}")
        number = int(number)
    if isinstance(number, int) and not -(2**63) <= number < 2**63:
        raise SampleError(f"value: {signal} does not fit in 64 bits, got {raw!r}")
    return number


_INT64 = 2**63

#: a constant, not `2**1000` in the function: Python does not fold a power that large, and
#: worked it out again for every number read (a third of decoding an MQTT batch)
_HUGE = 2**1000


def _bit(raw: object, from_text: bool) -> int | None:
    if isinstance(raw, bool):
        return int(raw)
    if from_text and isinstance(raw, str):
        return {"true": 1, "false": 0}.get(raw.strip().lower())
    return None


def _number(raw: object, from_text: bool) -> int | float | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, str) and from_text:
        try:
            raw = int(raw) if re.fullmatch(r"[+-]?\d+", raw.strip()) else float(raw)
        except ValueError:
            return None
    if isinstance(raw, int):
        return raw if abs(raw) < _HUGE else None  # float() of more overflows
    if isinstance(raw, float):
        return raw if math.isfinite(raw) else None
    return None


def make_sample(
    ts: object, machine: object, signal: object, value: object, *, from_text: bool = False
) -> Sample:
    """Build a validated sample from loosely typed input (a JSON object, a CSV row)."""
    if not isinstance(machine, str) or not MACHINE_RE.fullmatch(machine):
        raise SampleError(f"machine: {machine!r} is not an id like press-1 ([a-z0-9][a-z0-9_-]*)")
    if not isinstance(signal, str) or not SIGNAL_RE.fullmatch(signal):
        raise SampleError(f"signal: {signal!r} is not a signal name ([a-z0-9_]+)")
    return Sample(parse_ts(ts), machine, signal, coerce_value(signal, value, from_text=from_text))


def sample_from_mapping(obj: object) -> Sample:
    if not isinstance(obj, dict):
        raise SampleError("expected an object with ts, machine, signal, value")
    missing = [k for k in ("ts", "machine", "signal", "value") if k not in obj]
    if missing:
        raise SampleError(f"missing key(s): {', '.join(missing)}")
    return make_sample(obj["ts"], obj["machine"], obj["signal"], obj["value"])


def is_known_state(value: object) -> bool:
    return isinstance(value, str) and value in STATE_CODE
