"""Values people enter by hand (a stop reason on the dashboard), with who and when: the sample
goes to the store as any other, and this record says it was manual and whose it was."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    ts: int  # the sample's time (epoch ms)
    machine: str
    signal: str
    value: str
    by: str  # the user name; "" when the dashboard has no login (a laptop)
    entered: int  # when it was entered (epoch ms, wall clock)
    source: str = "manual"
