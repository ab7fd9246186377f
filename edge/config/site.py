"""Pydantic models of the site keys every tool reads (domain.md §6)."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PositiveFloat,
    PrivateAttr,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from fieldlab.config.addresses import StoreUrl
from fieldlab.config.alerts import AlertsConfig, ReportSettings
from fieldlab.domain.calendar import Calendar
from fieldlab.domain.samples import MACHINE_RE
from fieldlab.domain.shifts import CalendarConfig
from fieldlab.domain.units import unit_of
from fieldlab.i18n import Lang, has, t


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OeeSettings(_Strict):
    micro_stop_threshold_s: float = Field(default=120.0, ge=0)
    dialect: Literal["classic", "iso"] = "classic"


class EnergySettings(_Strict):
    """domain.md §8: what a kWh costs and emits; each optional (no key, no figure)."""

    price_per_kwh: float | None = Field(default=None, ge=0)
    currency: str = "EUR"
    co2_kg_per_kwh: float | None = Field(default=None, ge=0)


class CounterConfig(_Strict):
    wrap: int | None = Field(default=None, ge=2, description="e.g. 65536 for a 16-bit register")


class ProductConfig(_Strict):
    ideal_cycle_time_s: PositiveFloat
    name: str | None = None


class Targets(_Strict):
    """What the dashboards hold a figure against (ratios, 0.85 = 85 %); unset = the site's or
    the kit's default."""

    oee: float | None = Field(default=None, gt=0, le=1)
    availability: float | None = Field(default=None, gt=0, le=1)
    performance: float | None = Field(default=None, gt=0, le=1)
    quality: float | None = Field(default=None, gt=0, le=1)


#: Common world-class figures; a site sets its own in `targets:`.
DEFAULT_TARGETS = Targets(oee=0.85, availability=0.90, performance=0.95, quality=0.99)


class ReasonLabels(_Strict):
    """A stop reason's words for people, and the loss it is; the code is what the store keeps."""

    nl: str | None = None
    en: str | None = None
    category: Literal["idle", "starved", "blocked", "fault", "setup"] | None = Field(
        default=None,
        description="domain.md §5: a stop explained with this reason counts as this loss "
        "(changeover: setup), whatever state the machine reported",
    )


#: codes with their words; the file may also give a plain list of codes (normalised by
#: SiteConfig._reason_list)
Reasons = Annotated[
    dict[str, ReasonLabels],
    WithJsonSchema(
        {
            "anyOf": [
                {
                    "type": "object",
                    "additionalProperties": {
                        "anyOf": [ReasonLabels.model_json_schema(), {"type": "null"}]
                    },
                },
                {"type": "array", "items": {"type": "string"}},
            ]
        }
    ),
]


class AndonSettings(_Strict):
    """The shop-floor TV (`fieldlab dashboard --andon`): a grid of large tiles; more machines
    than fit are shown screen by screen."""

    columns: int = Field(default=3, ge=1, le=8)
    rows: int = Field(default=2, ge=1, le=6)
    cycle_s: float = Field(default=15.0, ge=3, description="seconds per screen")
    refresh_s: float = Field(default=5.0, ge=1, description="seconds between looks at the store")


class AuthSettings(_Strict):
    """Login for a server: viewers read, operators also enter stop reasons, admins manage users
    (`fieldlab users`)."""

    users_file: str = Field(description="users and roles, relative to the site file")


class DashboardSettings(_Strict):
    andon: AndonSettings = Field(default_factory=AndonSettings)
    auth: AuthSettings | None = Field(default=None, description="unset: no login (a laptop)")


#: a display name, one for every reader (`Pers 1`) or one per language (`{en: Press, nl: Pers}`)
DisplayName = str | dict[Literal["en", "nl"], str]


def display_name(name: DisplayName | None, lang: str, fallback: str) -> str:
    """The name in the reader's language, else in the other one, else `fallback` (the id)."""
    if name is None:
        return fallback
    if isinstance(name, str):
        return name
    return name.get(lang) or next(iter(name.values()), fallback)  # type: ignore[call-overload]


class MachineConfig(_Strict):
    name: DisplayName | None = Field(
        default=None, description="Display name, or one per language: {en: Press, nl: Pers}"
    )
    area: str | None = Field(default=None, description="ISA-95 area (hall, department)")
    line: str | None = Field(default=None, description="ISA-95 line or work centre")
    targets: Targets = Field(default_factory=Targets, description="overrides the site's targets")
    ideal_cycle_time_s: PositiveFloat | None = None
    products: dict[str, ProductConfig] = Field(default_factory=dict)
    counters: dict[
        Literal["count_total", "count_good", "count_scrap", "energy_kwh"], CounterConfig
    ] = Field(default_factory=dict)

    def label(self, lang: str, machine_id: str) -> str:
        """What people call this machine, in the reader's language (the id where unnamed)."""
        return display_name(self.name, lang, machine_id)

    def wrap_of(self, signal: str) -> int | None:
        spec = next((c for name, c in self.counters.items() if name == signal), None)
        return spec.wrap if spec else None


class SignalConfig(_Strict):
    """How people call a signal and its unit: `signals: {spindle_load_pct: {name: {en: Spindle
    load, nl: Spindelbelasting}, unit: "%"}}`. The kit's own signals and the simulators' have
    names in both languages already; a unit follows from the name's suffix (_pct, _c, _bar …)."""

    name: DisplayName | None = Field(default=None, description="{en: …, nl: …} or one name")
    unit: str | None = Field(default=None, description='what the value is in: "°C", "bar"')


def _machine_id(value: str) -> str:
    if not MACHINE_RE.fullmatch(value):
        raise ValueError(f'"{value}" is not a machine id like press-1 ([a-z0-9][a-z0-9_-]*)')
    return value


MachineId = Annotated[str, AfterValidator(_machine_id)]


class RetentionSettings(_Strict):
    process_values_raw_days: int | None = Field(
        None,
        ge=1,
        description="keep process values (°C, bar, rpm: signals with no rule of their own) as "
        "read for this many days, then aggregates: one sample a period (the value's "
        "time-weighted mean over it) where a period held two or more, the last value read at "
        "the end of such a run, and each period's min and max; states, reasons, counters, "
        "power_kw and energy_kwh are always kept as read. The gateway applies it to its SQLite "
        "store at start and every hour; InfluxDB has retention policies of its own",
    )
    aggregate_minutes: int = Field(
        1,
        ge=1,
        le=1440,
        description="the aggregates' period: 1 minute, or longer where a deadband already "
        "leaves fewer than two samples a minute (docs/BENCHMARKS.md, `bench year`)",
    )


class SiteConfig(_Strict):
    site: str = Field(default="fieldlab", description="Site name, used in MQTT topics")
    timezone: str = "Europe/Amsterdam"
    language: Literal["en", "nl"] | None = Field(
        default=None,
        description="the dashboard's and report's language when the reader chose none "
        "(?lang= in the address, --lang, FIELDLAB_LANG win); default: the computer's",
    )
    store: StoreUrl = Field(
        default="sqlite:///fieldlab.db", description="sqlite:///PATH or influxdb://…"
    )
    calendar: CalendarConfig | None = None
    max_clock_skew_s: float | None = Field(
        default=300.0,
        gt=0,
        description="domain.md §9: a source whose clock is further than this from the gateway's "
        "at contact is stamped by the gateway's clock until it agrees (null: never; the "
        "simulators' sites, whose clocks run in simulated time)",
    )
    oee: OeeSettings = Field(default_factory=OeeSettings)
    energy: EnergySettings = Field(default_factory=EnergySettings)
    machines: dict[MachineId, MachineConfig] = Field(default_factory=dict)
    signals: dict[str, SignalConfig] = Field(
        default_factory=dict, description="display names and units of signals, by signal id"
    )
    reasons: Reasons = Field(
        default_factory=lambda: {
            code: ReasonLabels()
            for code in (
                "tool_break",
                "jam",
                "material",
                "no_operator",
                "changeover",
                "quality_check",
                "maintenance",
                "other",
            )
        },
        description="the site's stop reasons (offered to operators on the dashboard): a list of "
        "codes, or codes with their words, e.g. {tool_break: {nl: Gereedschapsbreuk, en: Tool "
        "break}}",
    )
    scrap_reasons: Reasons = Field(
        default_factory=lambda: {
            code: ReasonLabels()
            for code in ("dimension", "surface", "burr", "material", "setting", "other")
        },
        description="why units found bad at the terminal are scrap (#29): codes, or codes with "
        "their words, e.g. {burr: {nl: Braam, en: Burr}}",
    )
    targets: Targets = Field(default_factory=Targets, description="OEE, A, P, Q targets")
    dashboard: DashboardSettings = Field(default_factory=DashboardSettings)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig, description="rules and channels")
    reports: ReportSettings = Field(default_factory=ReportSettings, description="owner's report")
    retention: RetentionSettings = Field(
        default_factory=RetentionSettings, description="how long process values stay as read"
    )
    # The gateway's keys: validated by the gateway (`fieldlab config check`), carried here so
    # one file serves every command.
    sources: list[dict[str, Any]] = Field(default_factory=list, description="gateway connectors")
    sinks: list[dict[str, Any]] = Field(default_factory=list, description="gateway sinks")
    gateway: dict[str, Any] = Field(default_factory=dict, description="gateway settings")
    _calendar: Calendar | None = PrivateAttr(None)

    @field_validator("reasons", "scrap_reasons", mode="before")
    @classmethod
    def _reason_list(cls, v: Any) -> Any:
        """A plain list of codes is the short form: their words come from the kit's table."""
        if isinstance(v, list):
            return {str(code): {} for code in v}
        if isinstance(v, dict):
            return {str(k): ({} if labels is None else labels) for k, labels in v.items()}
        return v

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f'"{v}" is not a known time zone (e.g. Europe/Amsterdam)') from None
        return v

    @model_validator(mode="after")
    def _alerts_name_what_exists(self) -> SiteConfig:
        for i, rule in enumerate(self.alerts.rules):
            for m in rule.machines or []:
                if self.machines and m not in self.machines:
                    known = ", ".join(self.machines)
                    raise ValueError(f"alerts.rules[{i}].machines: no machine {m!r} ({known})")
        weekly = self.reports.weekly
        for c in weekly.to if weekly else []:
            if c not in self.alerts.channels:
                raise ValueError(f"reports.weekly.to: no alert channel {c!r}")
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def shift_calendar(self) -> Calendar:
        """The site's shift calendar, one per config: it remembers the planned time of the
        windows asked for, which `fieldlab oee` asks for once per machine (bench/year.py)."""
        cal = self._calendar
        if cal is None or cal.config is not self.calendar or cal.tz != self.tz:
            cal = self._calendar = Calendar(self.calendar, self.tz)
        return cal

    def machine(self, machine_id: str) -> MachineConfig:
        return self.machines.get(machine_id) or MachineConfig()

    def signal_name(self, signal: str, lang: Lang) -> str:
        """What people call the signal: the site file's name, else the kit's, else its id."""
        own = self.signals.get(signal)
        if own is not None and own.name is not None:
            return display_name(own.name, lang, signal)
        return t(f"sig.{signal}", lang) if has(f"sig.{signal}") else signal

    def signal_unit(self, signal: str) -> str | None:
        own = self.signals.get(signal)
        return own.unit if own is not None and own.unit else unit_of(signal)

    def targets_for(self, machine_id: str) -> dict[str, float]:
        """The machine's targets, else the site's, else DEFAULT_TARGETS, per figure."""
        own, site = self.machine(machine_id).targets, self.targets
        return {
            key: next(v for v in (getattr(own, key), getattr(site, key), default) if v is not None)
            for key, default in DEFAULT_TARGETS.model_dump().items()
        }

    @property
    def reason_categories(self) -> dict[str, str]:
        """Reason code → the loss category the site gives it (domain.md §5)."""
        return {code: r.category for code, r in self.reasons.items() if r.category is not None}

    def reason_label(self, code: str, lang: Lang) -> str:
        """A reason's words: the site's, else the kit's table, else the code made readable."""
        return _label(self.reasons.get(code), f"reason.{code}", code, lang)

    def scrap_reason_label(self, code: str, lang: Lang) -> str:
        """A scrap reason's words, found the same way."""
        return _label(self.scrap_reasons.get(code), f"scrap.{code}", code, lang)


def _label(labels: ReasonLabels | None, key: str, code: str, lang: Lang) -> str:
    own = getattr(labels, lang, None) if labels is not None else None
    if own:
        return str(own)
    if has(key):
        return t(key, lang)
    return code.replace("_", " ")
