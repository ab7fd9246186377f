"""Pydantic models of the site keys every tool reads (DOMAIN.md §6)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PositiveFloat, field_validator

from fieldlab.domain.samples import MACHINE_RE

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _time_of_day(value: object) -> str:
    # YAML 1.1 reads an unquoted 06:00 as the sexagesimal integer 360: accept it as minutes.
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 24 * 60:
        value = f"{value // 60:02d}:{value % 60:02d}"
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a time (HH:MM)")
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", value.strip())
    if not m or int(m[2]) > 59 or int(m[1]) > 24 or (int(m[1]) == 24 and int(m[2]) != 0):
        raise ValueError(f'"{value}" is not a time (HH:MM)')
    return f"{int(m[1]):02d}:{m[2]}"


TimeOfDay = Annotated[str, Field(description="Local time HH:MM; 24:00 ends a day")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Span(_Strict):
    start: TimeOfDay
    end: TimeOfDay

    _check_times = field_validator("start", "end", mode="before")(_time_of_day)

    @property
    def start_min(self) -> int:
        return _minutes(self.start)

    @property
    def end_min(self) -> int:
        """End in minutes after the start day's midnight; an end at or before the start is
        the next day (a shift across midnight)."""
        end = _minutes(self.end)
        return end + 24 * 60 if end <= self.start_min else end


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def _unique_days(days: list[str]) -> list[str]:
    if len(set(days)) != len(days):
        raise ValueError("a day is listed twice")
    return days


class Shift(_Span):
    """A weekly shift; ``days`` are the days it starts on."""

    days: Annotated[list[Day], AfterValidator(_unique_days)] = Field(min_length=1)
    name: str | None = None


class Break(_Span):
    """A weekly break; ``days`` are the days it starts on."""

    days: Annotated[list[Day], AfterValidator(_unique_days)] = Field(min_length=1)


class ExceptionShift(_Span):
    name: str | None = None


class CalendarException(_Strict):
    """A dated exception: the shifts of that date (``[]`` for no production)."""

    date: dt.date
    shifts: list[ExceptionShift] = Field(default_factory=list)


class CalendarConfig(_Strict):
    shifts: list[Shift] = Field(default_factory=list)
    breaks: list[Break] = Field(default_factory=list)
    exceptions: list[CalendarException] = Field(default_factory=list)

    @field_validator("exceptions")
    @classmethod
    def _one_exception_per_date(cls, v: list[CalendarException]) -> list[CalendarException]:
        dates = [e.date for e in v]
        dup = {d for d in dates if dates.count(d) > 1}
        if dup:
            raise ValueError(f"date {min(dup)} has more than one exception")
        return v


class OeeSettings(_Strict):
    micro_stop_threshold_s: float = Field(default=120.0, ge=0)
    dialect: Literal["classic", "iso"] = "classic"


class CounterConfig(_Strict):
    wrap: int | None = Field(default=None, ge=2, description="e.g. 65536 for a 16-bit register")


class ProductConfig(_Strict):
    ideal_cycle_time_s: PositiveFloat
    name: str | None = None


class MachineConfig(_Strict):
    name: str | None = Field(default=None, description="Display name")
    ideal_cycle_time_s: PositiveFloat | None = None
    products: dict[str, ProductConfig] = Field(default_factory=dict)
    counters: dict[Literal["count_total", "count_good", "count_scrap"], CounterConfig] = Field(
        default_factory=dict
    )

    def wrap_of(self, signal: str) -> int | None:
        spec = self.counters.get(signal)  # type: ignore[call-overload]
        return spec.wrap if spec else None


def _machine_id(value: str) -> str:
    if not MACHINE_RE.fullmatch(value):
        raise ValueError(f'"{value}" is not a machine id like press-1 ([a-z0-9][a-z0-9_-]*)')
    return value


MachineId = Annotated[str, AfterValidator(_machine_id)]


class SiteConfig(_Strict):
    site: str = Field(default="fieldlab", description="Site name, used in MQTT topics")
    timezone: str = "Europe/Amsterdam"
    store: str = Field(
        default="sqlite:///fieldlab.db", description="sqlite:///PATH or influxdb://…"
    )
    calendar: CalendarConfig | None = None
    oee: OeeSettings = Field(default_factory=OeeSettings)
    machines: dict[MachineId, MachineConfig] = Field(default_factory=dict)
    reasons: list[str] = Field(
        default_factory=lambda: [
            "tool_break",
            "jam",
            "material",
            "no_operator",
            "changeover",
            "quality_check",
            "maintenance",
            "other",
        ],
        description="the site's stop-reason list, offered to operators on the dashboard",
    )
    # The gateway's keys: validated by the gateway (`fieldlab config check`), carried here so
    # one file serves every command.
    sources: list[dict[str, Any]] = Field(default_factory=list, description="gateway connectors")
    sinks: list[dict[str, Any]] = Field(default_factory=list, description="gateway sinks")
    gateway: dict[str, Any] = Field(default_factory=dict, description="gateway settings")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f'"{v}" is not a known time zone (e.g. Europe/Amsterdam)') from None
        return v

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def machine(self, machine_id: str) -> MachineConfig:
        return self.machines.get(machine_id) or MachineConfig()
