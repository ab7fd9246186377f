"""What every protocol face offers the runner; a face knows nothing of the others."""

from __future__ import annotations

from typing import Protocol

from fieldlab.domain.samples import Sample


class Face(Protocol):
    name: str

    async def start(self, sim_now: int) -> None:
        """Serve; values not yet produced carry the simulated time ``sim_now``."""

    async def stop(self) -> None: ...

    async def publish(self, samples: list[Sample], sim_now: int) -> None:
        """New samples of the face's machines since the last call, in time order."""

    def endpoints(self) -> list[str]:
        """Human-readable addresses, printed at start."""

    async def inject(self, fault: str, args: list[str]) -> None:
        """Fault injection for gateway tests (restart, drop, slow, exceptions, bad values…)."""
