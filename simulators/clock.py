"""The simulated clock: simulated time runs at a speed factor, can pause, resume and jump.

Only the runner reads it; machine models never see it, which is what keeps their histories
independent of speed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable


class SimClock:
    """Simulated epoch ms = start + wall time elapsed × speed (pauses excluded).

    ``speed=math.inf`` means "as fast as the machine allows": the runner then steps simulated
    time itself and the clock only reports where it is."""

    def __init__(
        self,
        start_ms: int,
        speed: float = 1.0,
        wall: Callable[[], float] = time.monotonic,
        *,
        paused: bool = False,
    ):
        """``paused``: standing at ``start_ms`` until `resume` (made running and paused a
        moment later, it could stand a millisecond or more past it)."""
        if speed <= 0:
            raise ValueError("speed must be > 0")
        self._wall = wall
        self._speed = speed
        self._base_sim = start_ms
        self._base_wall = wall()
        self._paused = paused

    @property
    def speed(self) -> float:
        return self._speed

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def unbounded(self) -> bool:
        return math.isinf(self._speed)

    def now(self) -> int:
        if self._paused or self.unbounded:
            return self._base_sim
        return self._base_sim + int((self._wall() - self._base_wall) * 1000 * self._speed)

    def _rebase(self) -> None:
        self._base_sim = self.now()
        self._base_wall = self._wall()

    def pause(self) -> None:
        if not self._paused:
            self._rebase()
            self._paused = True

    def resume(self) -> None:
        if self._paused:
            self._paused = False
            self._base_wall = self._wall()

    def set_speed(self, speed: float) -> None:
        if speed <= 0:
            raise ValueError("speed must be > 0")
        self._rebase()
        self._speed = speed

    def step_to(self, sim_ms: int) -> None:
        """Move simulated time forward (the runner does this at unbounded speed)."""
        self._base_sim = max(self._base_sim, sim_ms)
        self._base_wall = self._wall()
