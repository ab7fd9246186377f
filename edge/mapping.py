"""Mapping: raw device values to DOMAIN samples (scale, offset, enum maps, derived states).

Every connector hands its raw values through one `SignalMap`, so a fieldlab engineer configures
the meaning of a tag the same way for OPC UA, Modbus and MQTT. A code that maps to nothing is
kept as received and reported (domain.md §3): never dropped, never guessed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from fieldlab.domain.samples import (
    COUNTER_SIGNALS,
    TEXT_SIGNALS,
    Sample,
    SampleError,
    coerce_value,
)

#: OPC 40001-1 (Machinery) state machines: state names and StateNumbers, as a server shows
#: them in CurrentState (a LocalizedText) or CurrentState/Number.
MACHINERY_ITEM_STATE = {
    "0": "NotAvailable", "1": "OutOfService", "2": "NotExecuting", "3": "Executing",
}  # fmt: skip
MACHINERY_OPERATION_MODE = {"0": "None", "1": "Maintenance", "2": "Setup", "3": "Processing"}


def machinery_state(item: str | None, mode: str | None) -> str | None:
    """MachineryItemState × MachineryOperationMode → a DOMAIN state (README of the OPC UA
    connector: the table). The item state says whether the machine works; the mode says what
    for. Maintenance is planned; NotAvailable (switched off) in planned time is a plain stop."""
    if item is None:
        return None
    if mode == "Maintenance":
        return "planned_stop"
    if item == "OutOfService":
        return "fault"
    if mode == "Setup":
        return "setup"
    if item == "Executing":
        return "running"
    if item in ("NotExecuting", "NotAvailable"):
        return "idle"
    return None


#: PackML state numbers (ISA-TR88.00.02) to DOMAIN states.
PACKML: dict[int, str] = {
    0: "offline",
    1: "idle",
    2: "planned_stop",
    3: "idle",
    4: "idle",
    5: "starved",
    6: "running",
    7: "idle",
    8: "fault",
    9: "fault",
    10: "idle",
    11: "setup",
    12: "idle",
    13: "idle",
    14: "idle",
    15: "idle",
    16: "idle",
    17: "idle",
}


class Threshold(BaseModel):
    """A state derived from a process value with hysteresis: a power meter on a machine
    without a PLC (above ``running_above`` running, below ``idle_below`` idle, between: keep)."""

    model_config = ConfigDict(extra="forbid")
    running_above: float
    idle_below: float
    off_below: float | None = Field(None, description="below this: planned_stop (switched off)")

    @model_validator(mode="after")
    def _order(self) -> Threshold:
        if self.idle_below > self.running_above:
            raise ValueError("idle_below must not be above running_above")
        return self


class SignalMap(BaseModel):
    """How one raw value becomes a DOMAIN signal's value."""

    model_config = ConfigDict(extra="forbid")
    scale: float = 1.0
    offset: float = 0.0
    map: dict[str, str] | None = Field(
        None, description="device code → value, e.g. {1: running, 2: idle}; keys as text"
    )
    preset: (
        Literal["packml", "run_bit", "machinery_item_state", "machinery_operation_mode"] | None
    ) = Field(
        None,
        description="a standard map for state: PackML state numbers, a run bit, or OPC 40001-1 "
        "Machinery (MachineryItemState on `state`, MachineryOperationMode on any other signal: "
        "the two together make the state)",
    )
    derive_state: Threshold | None = Field(
        None, description="also write `state` from this value with thresholds and hysteresis"
    )
    unit: str | None = None

    @field_validator("map", mode="before")
    @classmethod
    def _codes_as_text(cls, v: Any) -> Any:
        """YAML reads `{1: running}` with a number for a key: the code is the same text."""
        if isinstance(v, dict):
            return {
                (str(k) if isinstance(k, int) and not isinstance(k, bool) else k): val
                for k, val in v.items()
            }
        return v


@dataclass
class Mapper:
    """Applies a machine's signal maps; keeps hysteresis state between calls."""

    unmapped: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    _derived: dict[str, str] = field(default_factory=dict)
    #: per machine: the latest MachineryItemState and MachineryOperationMode seen
    _machinery: dict[str, list[str | None]] = field(default_factory=dict)

    def apply(
        self, machine: str, signal: str, raw: object, ts: int, spec: SignalMap | None
    ) -> list[Sample]:
        """Samples for one raw value; raises SampleError when it cannot be one."""
        if spec is None or spec is _PLAIN:  # the common case, on the hot path
            return [Sample(ts, machine, signal, coerce_value(signal, raw))]
        value = raw
        out: list[Sample] = []
        if spec.preset in ("machinery_item_state", "machinery_operation_mode"):
            return self._machinery_samples(machine, signal, raw, ts, spec.preset)
        if spec.derive_state is not None:
            number = _as_number(raw)
            if number is not None:
                state = self._derive(machine, number * spec.scale + spec.offset, spec.derive_state)
                if state is not None:
                    out.append(Sample(ts, machine, "state", state))
        table = spec.map or (
            PACKML_TEXT
            if spec.preset == "packml"
            else RUN_BIT_TEXT
            if spec.preset == "run_bit"
            else None
        )
        if table is not None:
            key = _code_key(raw)
            if key in table:
                value = table[key]
            else:
                # Kept as received and reported: an unknown code is a data-quality problem.
                self.unmapped.setdefault((machine, signal), set()).add(key)
                value = key if signal in TEXT_SIGNALS else raw
        elif (spec.scale != 1.0 or spec.offset != 0.0) and signal not in (
            "state",
            "reason",
            "product",
        ):
            number = _as_number(raw)
            if number is None:
                raise SampleError(f"value: {signal} must be a number, got {raw!r}")
            value = number * spec.scale + spec.offset
            if signal in COUNTER_SIGNALS:
                value = round(value)
        if signal == "state" and isinstance(value, (int, float)) and table is None:
            value = str(value)
        if signal in ("reason", "product", "order") and isinstance(value, (int, float)):
            value = str(value)
        out.append(Sample(ts, machine, signal, coerce_value(signal, value)))
        return out

    def _derive(self, machine: str, x: float, th: Threshold) -> str | None:
        prev = self._derived.get(machine)
        if th.off_below is not None and x < th.off_below:
            new = "planned_stop"
        elif x > th.running_above:
            new = "running"
        elif x < th.idle_below:
            new = "idle"
        else:
            new = prev if prev in ("running", "idle") else "idle"
        self._derived[machine] = new
        return new if new != prev else None

    def _machinery_samples(
        self, machine: str, signal: str, raw: object, ts: int, preset: str
    ) -> list[Sample]:
        """One of the two Machinery state machines changed: the state they make together, and
        the operation mode itself as a value of its own signal (its StateNumber: signals other
        than DOMAIN's are numbers)."""
        item_side = preset == "machinery_item_state"
        names = MACHINERY_ITEM_STATE if item_side else MACHINERY_OPERATION_MODE
        key = _code_key(getattr(raw, "Text", raw))  # a LocalizedText, a name or a number
        name = names.get(key, key)
        if name not in names.values():
            self.unmapped.setdefault((machine, signal), set()).add(key)
            return [Sample(ts, machine, signal, key)] if item_side else []
        pair = self._machinery.setdefault(machine, [None, None])
        pair[0 if item_side else 1] = name
        number = next(int(k) for k, v in names.items() if v == name)
        out = [] if item_side else [Sample(ts, machine, signal, number)]
        state = machinery_state(pair[0], pair[1])
        if state is not None and self._derived.get(machine) != state:
            self._derived[machine] = state
            out.append(Sample(ts, machine, "state", state))
        return out

    def forget(self, machine: str) -> None:
        """After a gap the derived state is written again (a state never carries across)."""
        self._derived.pop(machine, None)


_PLAIN = SignalMap()


def plain(spec: SignalMap) -> SignalMap | None:
    """None for a map that changes nothing (`Mapper.apply`'s fast path), else the map itself:
    a connector that configures a field with only its address can resolve this once."""
    if (
        spec.scale == 1.0
        and spec.offset == 0.0
        and spec.map is None
        and spec.preset is None
        and spec.derive_state is None
    ):
        return None
    return spec


PACKML_TEXT = {str(k): v for k, v in PACKML.items()}
RUN_BIT_TEXT = {
    "0": "idle",
    "1": "running",
    "False": "idle",
    "True": "running",
    "false": "idle",
    "true": "running",
}


def _code_key(raw: object) -> str:
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw)


def _as_number(raw: object) -> float | None:
    if isinstance(raw, bool):
        return float(raw)
    if isinstance(raw, (int, float)):
        return float(raw) if math.isfinite(raw) else None
    if isinstance(raw, str):
        try:
            x = float(raw)
        except ValueError:
            return None
        return x if math.isfinite(x) else None
    return None
