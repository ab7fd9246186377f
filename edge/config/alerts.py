"""The site's `alerts:` and `reports:` keys: who hears what, through which channel.

A rule watches one condition per machine (or per gateway source); it fires once when the
condition has held `for_min`, repeats every `renotify_min` while it holds, and clears once when
it has been gone `clear_min` (time hysteresis; a process value also needs to come back inside
its limits by `hysteresis`). Channels are Apprise URLs (e-mail, Teams, Slack, ntfy, webhooks:
https://github.com/caronc/apprise/wiki) or an MQTT topic; `${NAME}` in a URL is read from the
environment, so passwords stay out of the site file.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from fieldlab.config.addresses import MqttUrl
from fieldlab.domain.states import State

AlertKind = Literal["stop", "offline", "oee_below", "source_degraded", "value_outside"]
#: States a `stop` rule watches unless it names its own: every stop a person should hear of.
STOP_STATES = ("idle", "starved", "blocked", "fault", "setup")
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MqttChannel(_Strict):
    url: MqttUrl = Field(description="mqtt://host:port (mqtts:// for TLS)")
    topic: str = "fieldlab/alerts"
    qos: Literal[0, 1, 2] = 1


class AlertChannel(_Strict):
    url: str | None = Field(default=None, description="an Apprise URL, e.g. mailto://… json://…")
    mqtt: MqttChannel | None = None
    lang: Literal["nl", "en"] = "nl"

    @model_validator(mode="after")
    def _one_way(self) -> AlertChannel:
        if (self.url is None) == (self.mqtt is None):
            raise ValueError("give a channel either `url` (Apprise) or `mqtt`, not both")
        return self

    def resolved_url(self) -> str:
        """The URL with `${NAME}` read from the environment (a missing name is an error)."""
        assert self.url is not None

        def env(m: re.Match[str]) -> str:
            if m.group(1) not in os.environ:
                raise KeyError(f"environment variable {m.group(1)} is not set")
            return os.environ[m.group(1)]

        return _ENV.sub(env, self.url)


class AlertRule(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    when: AlertKind
    machines: list[str] | None = Field(default=None, description="default: every machine")
    states: list[State] | None = Field(default=None, description="stop: default idle…setup")
    reasons: list[str] | None = Field(default=None, description="stop: only these reasons")
    source: str | None = Field(default=None, description="source_degraded: default every source")
    signal: str | None = Field(default=None, description="value_outside: the process value")
    min: float | None = None
    max: float | None = None
    hysteresis: float = Field(default=0.0, ge=0, description="value_outside: back inside by")
    target: float | None = Field(default=None, gt=0, le=1, description="oee_below: 0.6 = 60 %")
    at: list[str] = Field(default_factory=list, description='oee_below: moments, e.g. ["12:00"]')
    hysteresis_pp: float = Field(default=2.0, ge=0, description="oee_below: above target by")
    for_min: float = Field(default=0.0, ge=0)
    clear_min: float = Field(default=1.0, ge=0)
    renotify_min: float | None = Field(default=60.0, gt=0, description="null: never again")
    to: list[str] | None = Field(default=None, description="channel names; default: all")

    @field_validator("at")
    @classmethod
    def _times(cls, v: list[str]) -> list[str]:
        for hhmm in v:
            try:
                dt.time.fromisoformat(hhmm)
            except ValueError:
                raise ValueError(f'"{hhmm}" is not a time of day like "12:00"') from None
        return v

    @model_validator(mode="after")
    def _complete(self) -> AlertRule:
        if self.when == "value_outside":
            if not self.signal or (self.min is None and self.max is None):
                raise ValueError("a value_outside rule needs `signal` and `min` and/or `max`")
        elif self.when == "oee_below" and not self.at:
            raise ValueError('an oee_below rule needs `at`, the moments to check, e.g. ["12:00"]')
        return self

    def stop_states(self) -> tuple[str, ...]:
        if self.when == "offline":
            return ("offline",)
        return tuple(s.value for s in self.states) if self.states else STOP_STATES


class AlertsConfig(_Strict):
    channels: dict[str, AlertChannel] = Field(default_factory=dict)
    rules: list[AlertRule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _known_channels(self) -> AlertsConfig:
        names = set()
        for i, rule in enumerate(self.rules):
            if rule.name in names:
                raise ValueError(f"rules[{i}]: a second rule named {rule.name!r}")
            names.add(rule.name)
            for c in rule.to or []:
                if c not in self.channels:
                    known = ", ".join(sorted(self.channels)) or "none"
                    raise ValueError(f"rules[{i}].to: no channel {c!r} (channels: {known})")
        return self


class WeeklyReport(_Strict):
    to: list[str] = Field(min_length=1, description="alert channel names (e-mail: the PDF)")
    day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "mon"
    at: str = "07:00"
    lang: Literal["nl", "en"] = "nl"


class ReportSettings(_Strict):
    margin_per_hour: float | None = Field(
        default=None, ge=0, description="what an hour of standing still costs (currency/h)"
    )
    weeks_of_trend: int = Field(default=6, ge=1, le=52)
    weekly: WeeklyReport | None = None
