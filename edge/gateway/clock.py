"""The gateway's own clock, watched (domain.md §9).

NTP steps a drifting PC, a Raspberry Pi without a battery boots with the time it last saved and
jumps when NTP answers, a person corrects the time. The monotonic clock never steps, so the
difference between the wall clock and it changes only when the wall clock does: a change of
more than 2 s between two looks is a step. A slow correction (NTP slewing, at most 0.5 ms a
second) is followed quietly.
"""

from __future__ import annotations

import time
from collections.abc import Callable

STEP_S = 2.0


class ClockWatch:
    def __init__(
        self,
        threshold_s: float = STEP_S,
        wall: Callable[[], float] = time.time,
        mono: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold_s = threshold_s
        self._wall, self._mono = wall, mono
        self._offset = wall() - mono()
        self.forward = 0
        self.backward = 0
        self.last_step_s: float | None = None

    def check(self) -> float | None:
        """The step since the last look, in seconds (+ forward, − back), or None."""
        offset = self._wall() - self._mono()
        step = offset - self._offset
        self._offset = offset
        if abs(step) <= self.threshold_s:
            return None
        if step > 0:
            self.forward += 1
        else:
            self.backward += 1
        self.last_step_s = step
        return step
