"""The MQTT source's config model: broker, session, TLS, topics and signal maps."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from fieldlab.config.addresses import MqttUrl
from fieldlab.mapping import SignalMap


class TopicConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    template: str = "fieldlab/{site}/{area}/{machine}/{signal}"
    payload: Literal["json", "plain"] = "json"
    value: str = "value"
    ts: str | None = "ts"
    machine: str | None = Field(None, description="fixed machine when the topic names none")
    signal: str | None = Field(None, description="fixed signal when the topic names none")

    @field_validator("template")
    @classmethod
    def _one_segment_each(cls, v: str) -> str:
        for seg in v.split("/"):
            if "{" in seg and not re.fullmatch(r"\{[a-z_]+\}", seg):
                raise ValueError(f'"{seg}": a placeholder must be a whole topic level')
        return v

    def filter(self) -> str:
        return "/".join("+" if seg.startswith("{") else seg for seg in self.template.split("/"))

    def pattern(self) -> re.Pattern[str]:
        parts = []
        for seg in self.template.split("/"):
            if seg.startswith("{"):
                parts.append(f"(?P<{seg[1:-1]}>[^/]+)")
            elif seg == "+":
                parts.append("[^/]+")
            elif seg == "#":
                parts.append(".*")
            else:
                parts.append(re.escape(seg))
        return re.compile("/".join(parts) + "$")


class TlsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    insecure: bool = Field(False, description="skip the host name check (test CAs only)")


class BrokerConfig(BaseModel):
    """Where the broker is and who we are to it: the keys every MQTT-borne source shares."""

    model_config = ConfigDict(extra="forbid")
    url: MqttUrl = Field("mqtt://127.0.0.1:1883", description="mqtt:// or mqtts:// (TLS)")
    client_id: str = "fieldlab-gateway"
    username_env: str | None = Field(None, description="environment variable of the user name")
    password_env: str | None = Field(None, description="environment variable of the password")
    tls: TlsConfig | None = None


class Config(BrokerConfig):
    type: Literal["mqtt"]
    name: str = "mqtt"
    protocol: Literal["auto", "3.1.1", "5"] = "auto"
    receive_maximum: int = Field(1000, ge=1, le=65535, description="MQTT 5 in-flight window")
    session_expiry_s: int = Field(7 * 86400, ge=0)
    topics: list[TopicConfig] = Field(default_factory=lambda: [TopicConfig()], min_length=1)
    signals: dict[str, SignalMap] = Field(default_factory=dict)
    machines: dict[str, dict[str, SignalMap]] = Field(default_factory=dict)
    flush_ms: int = Field(20, ge=1, description="how long messages gather into one batch")
    share_group: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="subscribe as $share/<group>/…: gateways in one group split the messages "
        "(each needs its own client_id); docs/SCALING.md",
    )
    machine_contact: bool = Field(
        True,
        description="the broker is how the gateway sees these machines: losing it writes them "
        "offline (false for a source that only relays what people enter, e.g. operator "
        "terminals, while the machines themselves are read elsewhere)",
    )
