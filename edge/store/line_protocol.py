"""The InfluxDB schema, as line protocol built directly (influxdb-client's Point is ~50k
points/s). The store reads it back; the InfluxDB sink writes it.

One schema, fixed by the signal, so a field-type conflict cannot arise: the measurement is the
signal, the tag is the machine, the field is ``value`` — an integer for counters, a string for
state/reason/product, a float for every process value (even when a device sends 21). Rejected
input goes to the measurement ``_rejected`` with string fields source, payload and reason;
hand entries (who entered a stop reason) to ``_entries``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import cast

from fieldlab.domain.alerts import AlertEvent
from fieldlab.domain.entries import Entry
from fieldlab.domain.learning import Attempt
from fieldlab.domain.quality import QualityEvent
from fieldlab.domain.rejected import Rejected
from fieldlab.domain.samples import COUNTER_SIGNALS, TEXT_SIGNALS, Sample, Value

#: The measurement that keeps rejected input (dead letters) beside the samples.
REJECTED = "_rejected"
#: Hand entries (who entered which value): tags machine, signal, source; fields ts, value, by.
ENTRIES = "_entries"
#: Alert events: tags rule, subject, event; fields kind, since, detail, value.
ALERTS = "_alerts"
ATTEMPTS = "_attempts"
QUALITY = "_quality"

_MEASUREMENT = str.maketrans({",": r"\,", " ": r"\ "})
_TAG = str.maketrans({",": r"\,", " ": r"\ ", "=": r"\="})


def field_kind(signal: str) -> str:
    if signal in COUNTER_SIGNALS:
        return "int"
    if signal in TEXT_SIGNALS:
        return "str"
    return "float"


def _int_field(value: Value) -> str:
    return f"{int(value)}i"


def _float_field(value: Value) -> str:
    return repr(float(value))


def _encoder(signal: str) -> Callable[[Value], str]:
    kind = field_kind(signal)
    if kind == "int":
        return _int_field
    if kind == "str":
        return lambda value: _str_field(str(value))
    return _float_field


def encode_value(signal: str, value: Value) -> str:
    return _encoder(signal)(value)


def to_lines(samples: list[Sample]) -> str:
    """Line protocol with millisecond timestamps (write with precision=ms). The measurement,
    tag and field type are worked out once per series of the batch, not once per point."""
    heads: dict[tuple[str, str], tuple[str, Callable[[Value], str]]] = {}
    lines = []
    for s in samples:
        head = heads.get((s.signal, s.machine))
        if head is None:
            head = heads[s.signal, s.machine] = (
                f"{s.signal.translate(_MEASUREMENT)},machine={s.machine.translate(_TAG)} value=",
                _encoder(s.signal),
            )
        prefix, encode = head
        lines.append(f"{prefix}{encode(s.value)} {s.ts}")
    return "\n".join(lines)


def decode_value(signal: str, value: object) -> Value:
    """A value read back over InfluxQL, in the type the store contract promises."""
    kind = field_kind(signal)
    if kind == "str":
        return str(value)
    number = cast(float, value)  # InfluxQL's JSON numbers
    return int(number) if kind == "int" else float(number)


def _str_field(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def rejected_lines(records: Iterable[Rejected], now_ms: int) -> str:
    """Rejected input as line protocol; ``seq`` keeps records of one millisecond apart."""
    lines = []
    for i, r in enumerate(records):
        r = r.truncated()
        fields = ",".join(
            f"{k}={_str_field(v)}"
            for k, v in (("source", r.source), ("payload", r.payload), ("reason", r.reason))
        )
        if r.repeats:
            fields += f",repeats={int(r.repeats)}i"
        lines.append(f"{REJECTED},seq={i} {fields} {r.received or now_ms}")
    return "\n".join(lines)


def entry_lines(entries: Iterable[Entry]) -> str:
    """Hand entries as line protocol, at the time they were entered."""
    return "\n".join(
        f"{ENTRIES},machine={e.machine.translate(_TAG)},signal={e.signal.translate(_TAG)},"
        f"source={e.source.translate(_TAG)} "
        f"ts={e.ts}i,value={_str_field(e.value)},by={_str_field(e.by)} {e.entered}"
        for e in entries
    )


def alert_lines(events: Iterable[AlertEvent]) -> str:
    """Alert events as line protocol, at the time they happened."""
    return "\n".join(
        f"{ALERTS},rule={e.rule.translate(_TAG)},subject={e.subject.translate(_TAG)},"
        f"event={e.event} kind={_str_field(e.kind)},since={e.since}i,"
        f"detail={_str_field(e.detail)}"
        + ("" if e.value is None else f",value={float(e.value)!r}")
        + f" {e.ts}"
        for e in events
    )


def quality_lines(events: Iterable[QualityEvent]) -> str:
    """Clock steps and skews as line protocol; ``seq`` keeps events of one millisecond apart."""
    return "\n".join(
        f"{QUALITY},source={e.source.translate(_TAG)},kind={e.kind},seq={i} "
        f"value_s={float(e.value_s)!r} {e.ts}"
        for i, e in enumerate(events)
    )


def attempt_lines(attempts: Iterable[Attempt]) -> str:
    """Workshop answers as line protocol, at the time they were given."""
    return "\n".join(
        f"{ATTEMPTS},run={a.run.translate(_TAG)},participant={a.participant.translate(_TAG)},"
        f"question={a.question.translate(_TAG)} given={_str_field(a.given)},"
        f"verdict={_str_field(a.verdict)},hint={str(a.hint).lower()} {a.ts}"
        for a in attempts
    )
