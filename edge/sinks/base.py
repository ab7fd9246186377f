"""The interface of a sink: accept a committed batch durably, forward it in its own time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from fieldlab.config.site import SiteConfig
from fieldlab.domain.packed import Packed
from fieldlab.domain.rejected import Rejected
from fieldlab.domain.samples import Sample
from fieldlab.store.base import Store

#: machine → the current shift's figures (kpi.report.shift_figures), for every machine whose
#: source has a clock now; computed by the gateway from the store, as the dashboard reads it
ShiftFigures = Callable[[], list[tuple[str, dict[str, Any]]]]


@dataclass
class SinkEnv:
    """What a sink may know of the gateway that runs it (a sink never imports the gateway)."""

    site: SiteConfig
    #: the site file's folder: relative paths in it are from there
    base_dir: Path
    #: where durable queues are kept (`gateway.data_dir`)
    data_dir: Path
    #: gateway worker processes that fill the InfluxDB queues themselves (0: none)
    workers: int = 0
    shift_figures: ShiftFigures | None = None


class Sink(Protocol):
    name: str

    @property
    def keeps(self) -> bool:
        """What it accepts is kept where the dashboard can read it (a store), not only
        published."""

    @property
    def store(self) -> Store | None:
        """The store this sink writes in the gateway's own process (SQLite), or None: the
        gateway closes gaps from it."""

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
