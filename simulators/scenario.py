"""Scenario files: a simulated site (domain.md §6 keys) plus how each machine behaves.

A scenario is a site config with, per machine, an archetype, the protocol faces it is exposed on
and stochastic overrides, plus orders and scripted events. `site_config()` strips the simulator's
keys, so the same file tells `fieldlab oee` the calendar and ideal cycle times.
"""

from __future__ import annotations

import datetime as dt
import re
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from fieldlab.config.loader import ConfigError, format_validation_error
from fieldlab.config.site import (
    CalendarConfig,
    CounterConfig,
    DisplayName,
    MachineConfig,
    OeeSettings,
    ProductConfig,
    SiteConfig,
)
from fieldlab.domain.durations import parse_duration_ms
from fieldlab.domain.samples import MACHINE_RE
from fieldlab.simulators.faces import face_names

Archetype = Literal["cnc", "injection_moulding", "filler", "press", "laser", "legacy_lathe"]


def _face(name: str) -> str:
    if name not in face_names():
        raise ValueError(f"expected a protocol the simulator serves: {', '.join(face_names())}")
    return name


#: a protocol folder with a simulator face (`fieldlab.connectors`)
Face = Annotated[str, AfterValidator(_face)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Behaviour(_Strict):
    """Stochastic parameters; each archetype has defaults (see archetypes.py)."""

    cycle_spread: float | None = Field(None, ge=0, le=1, description="relative cycle-time noise")
    speed_loss: float | None = Field(None, ge=0, le=5, description="mean extra cycle time")
    mtbf_min: float | None = Field(None, gt=0, description="mean running time between faults")
    mttr_min: float | None = Field(None, gt=0, description="mean time to repair")
    micro_stops_per_hour: float | None = Field(None, ge=0)
    micro_stop_s: tuple[float, float] | None = None
    starved_per_hour: float | None = Field(None, ge=0)
    blocked_per_hour: float | None = Field(None, ge=0)
    external_stop_min: float | None = Field(None, gt=0, description="mean starved/blocked time")
    scrap_rate: float | None = Field(None, ge=0, le=1)
    setup_min: float | None = Field(None, ge=0)
    startup_scrap_cycles: int | None = Field(None, ge=0)
    cavities: int | None = Field(None, ge=1)
    order_quantity: int | None = Field(None, ge=1)
    temp_drift_c_per_h: float | None = None
    process_interval_s: float | None = Field(None, gt=0)


class SimMachine(_Strict):
    archetype: Archetype
    name: DisplayName | None = None
    area: str = "shopfloor"
    faces: list[Face] = Field(default_factory=lambda: list[Face](["mqtt"]), min_length=1)
    ideal_cycle_time_s: float = Field(gt=0)
    products: dict[str, ProductConfig] = Field(default_factory=dict)
    counters: dict[Literal["count_total", "count_good", "count_scrap"], CounterConfig] = Field(
        default_factory=dict
    )
    behaviour: Behaviour = Field(default_factory=Behaviour)
    modbus_unit: int | None = Field(None, ge=1, le=247)


_EVENT_RE = re.compile(
    r"(?P<at>\d{1,2}:\d{2}(?::\d{2})?|\+\d+(?:\.\d+)?[smh])\s+(?P<machine>[a-z0-9][a-z0-9_-]*)\s+"
    r"(?P<what>.+)"
)
_DUR_RE = re.compile(r"(?P<n>\d+(?:\.\d+)?)\s*(?P<u>s|sec|min|m|h)")


class Event(_Strict):
    """A scripted event: at a simulated local time (or an offset from the start), do something.

    Written as a mapping or as one line: ``"10:12 press-1 fault tool_break 14 min"``,
    ``"11:00 filler-1 speed -20%"``, ``"+2h imm-1 setup_min 10"``,
    ``"12:00 cnc-1 state starved 5 min"``, ``"09:00 mqtt-press face mqtt malformed 5"``."""

    at: str
    machine: str
    action: Literal["fault", "state", "speed", "setup_min", "scrap_rate", "face"]
    args: list[str] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _from_line(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        m = _EVENT_RE.fullmatch(value.strip())
        if not m:
            raise ValueError(
                f'"{value}" is not an event like "10:12 press-1 fault tool_break 14 min"'
            )
        words = m["what"].split()
        return {"at": m["at"], "machine": m["machine"], "action": words[0], "args": words[1:]}

    def offset_ms(self, start: dt.datetime) -> int:
        """Milliseconds after the scenario start (a clock time means its next occurrence)."""
        if self.at.startswith("+"):
            return parse_duration_ms(self.at[1:])
        parts = [int(p) for p in self.at.split(":")]
        target = start.replace(
            hour=parts[0], minute=parts[1], second=parts[2] if len(parts) > 2 else 0, microsecond=0
        )
        if target < start:
            target += dt.timedelta(days=1)
        return int((target - start).total_seconds() * 1000)

    def duration_ms(self) -> int | None:
        """The trailing duration of fault/state events (``14 min``)."""
        text = " ".join(self.args)
        m = _DUR_RE.search(text)
        return parse_duration_ms(m[0]) if m else None


class Order(_Strict):
    machine: str
    product: str
    quantity: int = Field(ge=1)
    number: str | None = Field(
        None, max_length=40, description="the order number the operator scans (made up if unset)"
    )


class Operator(_Strict):
    """The people at one machine's terminal (#29, simulators/operators.py)."""

    explain_share: float = Field(
        0.9, ge=0, le=1, description="share of the stops they explain (the rest stay unexplained)"
    )
    explain_after_s: float = Field(
        60,
        ge=0,
        description="how long after the stop began they enter the reason; a stop over "
        "by then stays unexplained",
    )
    accuracy: float = Field(
        0.9, ge=0, le=1, description="share of their reasons that are right (else another one)"
    )
    reasons: dict[str, str] = Field(
        default_factory=lambda: {
            "idle": "no_operator",
            "starved": "material",
            "blocked": "downstream_full",
            "fault": "sensor",
        },
        description="the right reason for a stop in each state",
    )
    orders: bool = Field(True, description="they start each order (number and target)")
    inspect_scrap: float = Field(
        0.0, ge=0, le=1, description="share of good units they find bad when an order ends"
    )


class Scenario(_Strict):
    site: str = "fieldlab"
    timezone: str = "Europe/Amsterdam"
    store: str = "sqlite:///fieldlab.db"
    calendar: CalendarConfig | None = None
    oee: OeeSettings = Field(default_factory=OeeSettings)
    start: Annotated[str, Field(description='"now" or a local date-time, e.g. 2026-03-02T06:00')]
    seed: int = 1
    machines: dict[str, SimMachine]
    orders: list[Order] = Field(default_factory=list)
    operators: dict[str, Operator] = Field(
        default_factory=dict, description="simulated people at the machines' terminals"
    )
    events: list[Event] = Field(default_factory=list)
    reasons: list[str] = Field(
        default_factory=lambda: [
            "tool_break",
            "jam",
            "material",
            "sensor",
            "hydraulics",
            "changeover",
            "no_operator",
            "quality_check",
            "downstream_full",
        ],
        description="the site's stop-reason list (operators pick from it)",
    )

    @field_validator("machines")
    @classmethod
    def _ids(cls, v: dict[str, SimMachine]) -> dict[str, SimMachine]:
        for mid in v:
            if not MACHINE_RE.fullmatch(mid):
                raise ValueError(f'"{mid}" is not a machine id like press-1')
        return v

    @model_validator(mode="after")
    def _refs(self) -> Scenario:
        for i, e in enumerate(self.events):
            if e.machine not in self.machines:
                raise ValueError(f"events[{i}]: unknown machine {e.machine!r}")
        for i, o in enumerate(self.orders):
            if o.machine not in self.machines:
                raise ValueError(f"orders[{i}]: unknown machine {o.machine!r}")
        for m, op in self.operators.items():
            if m not in self.machines:
                raise ValueError(f"operators: unknown machine {m!r}")
            unknown = sorted(set(op.reasons.values()) - set(self.reasons))
            if unknown:
                raise ValueError(
                    f"operators.{m}.reasons: {', '.join(unknown)} not in the scenario's reasons"
                )
        SiteConfig(timezone=self.timezone)  # validates the zone
        return self

    def start_datetime(self, now: dt.datetime | None = None) -> dt.datetime:
        tz = SiteConfig(timezone=self.timezone).tz
        if self.start == "now":
            return (now or dt.datetime.now(tz)).astimezone(tz).replace(microsecond=0)
        value = dt.datetime.fromisoformat(self.start)
        return value.replace(tzinfo=tz) if value.tzinfo is None else value.astimezone(tz)

    def site_config(self) -> SiteConfig:
        return SiteConfig(
            site=self.site,
            timezone=self.timezone,
            store=self.store,
            calendar=self.calendar,
            oee=self.oee,
            reasons=self.reasons,
            machines={
                mid: MachineConfig(
                    name=m.name,
                    area=m.area,
                    ideal_cycle_time_s=m.ideal_cycle_time_s,
                    products=m.products,
                    counters=m.counters,
                )
                for mid, m in self.machines.items()
            },
        )


def load_scenario(path: str | Path | None = None) -> Scenario:
    """Read a scenario file; ``None`` is the kit's default scenario."""
    if path is None:
        text = (
            resources.files("fieldlab.simulators.scenarios")
            .joinpath("default.yaml")
            .read_text("utf-8")
        )
        name = "default.yaml"
    else:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None
        name = str(path)
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{name}: not valid YAML: {exc}") from None
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, name)) from None


def site_yaml(scenario: Scenario) -> str:
    """The scenario's site config as YAML, for `fieldlab oee` and the gateway."""
    data = scenario.site_config().model_dump(mode="json", exclude_none=True)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
