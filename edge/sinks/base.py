"""The interface of a sink: accept a committed batch durably, forward it in its own time."""

from __future__ import annotations

from typing import Protocol

from edge.domain.samples import Sample


class Sink(Protocol):
    name: str

    def accept(self, samples: list[Sample]) -> None:
        """Keep the batch durably before returning (a local write or the disk queue); runs in
        a worker thread, so it may block."""

    async def run(self) -> None:
        """Forward what was accepted until cancelled (nothing to do for a local store)."""

    def stats(self) -> dict[str, float]:
        """Numbers for /metrics: written, queued, dropped, errors…"""

    def close(self) -> None: ...
