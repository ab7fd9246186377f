"""The interface of a sink: accept a committed batch durably, forward it in its own time."""

from __future__ import annotations

from typing import Protocol

from fieldlab.domain.packed import Packed
from fieldlab.domain.rejected import Rejected
from fieldlab.domain.samples import Sample


class Sink(Protocol):
    name: str

    def accept(self, samples: list[Sample], rejected: list[Rejected]) -> None:
        """Keep the batch and its rejected input durably before returning (a local write or
        the disk queue). The rejected input goes where the dashboard reads it. Small commits
        run on the event loop, large ones in a worker thread (pipeline.py)."""

    def newest(self) -> dict[str, tuple[int, int | None, str | None]]:
        """Machine → (newest sample ts, newest state ts, that state) this sink has taken but
        its store may not hold yet (the InfluxDB queue during an outage); {} for a local store.
        After a crash the gateway closes the gap from the later of this and the store."""

    async def run(self) -> None:
        """Forward what was accepted until cancelled (nothing to do for a local store)."""

    def stats(self) -> dict[str, float]:
        """Numbers for /metrics: written, queued, dropped, errors…"""

    def close(self) -> None: ...


class PackedSink(Sink, Protocol):
    """A sink that also takes samples in columns as they are (a gateway worker's batches):
    the pipeline hands them on packed only when every sink is one and no alert rule watches."""

    def accept_packed(
        self, samples: list[Sample], rejected: list[Rejected], packed: list[Packed]
    ) -> None:
        """`accept`, with `packed` besides `samples`, in one commit."""
