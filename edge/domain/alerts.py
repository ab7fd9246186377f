"""What the alert rules said and when: each rule fires once, may repeat while its condition
holds, and clears once. The store keeps these events; the dashboard and the owner's report read
them back, and the words of a message are made from them in the reader's language."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

AlertEventKind = Literal["fired", "repeated", "cleared"]


@dataclass(frozen=True)
class AlertEvent:
    ts: int  # when it happened, on the source's clock (epoch ms)
    rule: str
    subject: str  # the machine, or the gateway source of a `source_degraded` rule
    event: AlertEventKind
    kind: str  # the rule's `when`: stop, offline, oee_below, source_degraded, value_outside
    since: int  # when the condition began (epoch ms)
    detail: str = ""  # the state, reason, signal or source state it is about
    value: float | None = None  # the OEE or process value, where there is one
