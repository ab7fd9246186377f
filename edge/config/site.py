"""Pydantic models of the site keys every tool reads (DOMAIN.md §6)."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PositiveFloat, field_validator

from fieldlab.domain.samples import MACHINE_RE
from fieldlab.domain.shifts import CalendarConfig


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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
        spec = next((c for name, c in self.counters.items() if name == signal), None)
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
