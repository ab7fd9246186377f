"""The pipeline's currency: what a connector read, on its way through the contact guard to the
sinks. Connectors never build one (they call `ConnectorContext.send`); the gateway does, and the
worker pool sends its own kind (`pool.PooledBatch`: columns, queues it filled itself)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from fieldlab.domain.packed import Packed
from fieldlab.domain.rejected import Rejected
from fieldlab.domain.samples import Sample


@dataclass
class Batch:
    samples: list[Sample]
    rejected: list[Rejected] = field(default_factory=list)
    source: str = ""
    #: Called once the batch is committed to the local store and every sink's queue
    #: (MQTT acknowledges its messages here, never before).
    on_commit: Callable[[], None] | None = None
    #: The source's time when it read these values (epoch ms): the OPC UA server's
    #: CurrentTime, a device's time registers, the gateway's clock. After an `offline`, the
    #: first batch of a machine makes this the instant contact returned (domain.md §3).
    now: int | None = None
    #: Replayed in order by a source that buffered them (an MQTT persistent session): the
    #: samples keep their own time even after an `offline` (domain.md §3).
    keeps_time: bool = False
    #: With `keeps_time`: the source's order is each series' order (an MQTT subscription read
    #: by one process). A value not after its series' newest is then a clock that stepped back
    #: (written 1 ms after the newest, domain.md §9) or, `resent` by the broker, one a gateway
    #: wrote before (dropped); never a reordered counter.
    in_order: bool = False
    resent: bool = False
    #: The gateway's own `offline` samples (loss, gap at start, stop).
    gateway: bool = False

    @property
    def count(self) -> int:
        return len(self.samples)

    def unpack(self) -> list[Sample]:
        """All the samples as objects (a batch in columns builds them now, once)."""
        return self.samples

    def columns(self) -> Packed | None:
        """Samples still in columns, which a sink may write as they are."""
        return None

    def queued_for(self, sink: str) -> bool:
        """Already in that sink's durable queue (put there before the gateway saw it)."""
        return False

    def from_worker(self) -> bool:
        """A worker process's batch (`pool.PooledBatch`): its values may be in sinks' queues
        already, with the time they came with."""
        return False
