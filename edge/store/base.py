"""The store interface every sink writes through and every reader (KPI, dashboards) reads from."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from fieldlab.domain.history import Series
from fieldlab.domain.samples import Sample

#: How much of a rejected payload is kept: enough to recognise it, bounded for a flood.
REJECTED_PAYLOAD_LIMIT = 2000


@dataclass(frozen=True)
class Rejected:
    """Input that could not become a sample, kept with why (a dead letter)."""

    source: str  # e.g. "ingest:day1.jsonl:17" or "mqtt:fieldlab/site/press-1/state"
    payload: str
    reason: str
    received: int | None = None  # epoch ms; the store fills in now when None

    def truncated(self) -> Rejected:
        if len(self.payload) <= REJECTED_PAYLOAD_LIMIT:
            return self
        cut = self.payload[:REJECTED_PAYLOAD_LIMIT] + f"… ({len(self.payload)} chars)"
        return Rejected(self.source, cut, self.reason, self.received)


class StoreError(Exception):
    """The store cannot be opened or used; the message says which store and why."""


@runtime_checkable
class Store(Protocol):
    def write(self, samples: Sequence[Sample]) -> int:
        """Write a batch atomically; writing the same sample again changes nothing."""

    def write_rejected(self, records: Iterable[Rejected]) -> int: ...

    def read(self, machine: str, signal: str, start: int, end: int) -> Series:
        """Samples with ``start <= ts < end``, plus the last one before ``start`` (so a state
        or a counter baseline carries into the window)."""

    def latest(self, machine: str | None = None) -> list[Sample]:
        """The newest sample of every signal (of one machine, or all)."""

    def machines(self) -> list[str]: ...

    def signals(self, machine: str) -> list[str]: ...

    def newest_ts(self) -> int | None:
        """The newest sample time in the store, for the engine's notion of now."""

    def rejected(self, limit: int = 100) -> list[Rejected]: ...

    def rejected_count(self) -> int: ...

    def close(self) -> None: ...
