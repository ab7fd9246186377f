"""Data-quality records of time itself (domain.md §9): a step of the gateway's clock, a source
whose clock is off. The gateway writes them beside the samples; the data-quality page reads them
back and says them in words."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: clock_step: the gateway's clock stepped by `value_s` (+ forward, − back);
#: clock_skew: a source's clock is `value_s` from the gateway's, beyond max_clock_skew_s;
#: clock_agrees: that source's clock agrees again (`value_s` its offset now)
QualityKind = Literal["clock_step", "clock_skew", "clock_agrees"]


@dataclass(frozen=True)
class QualityEvent:
    ts: int  # epoch ms, the gateway's clock after the event
    source: str  # "gateway" for its own clock, else the source's name
    kind: QualityKind
    value_s: float
