"""The store interface every sink writes through and every reader (KPI, dashboards) reads from."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol, runtime_checkable

from fieldlab.domain.alerts import AlertEvent
from fieldlab.domain.entries import Entry
from fieldlab.domain.history import Series
from fieldlab.domain.learning import Attempt
from fieldlab.domain.quality import QualityEvent
from fieldlab.domain.rejected import Rejected
from fieldlab.domain.samples import Sample
from fieldlab.errors import FieldlabError


class StoreError(FieldlabError):
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

    def run_start(self, machine: str, signal: str) -> int | None:
        """When the series' current run of equal values began: a machine is in its state
        since the first sample of that run (domain.md §3), not since the last sample written."""

    def machines(self) -> list[str]: ...

    def signals(self, machine: str) -> list[str]: ...

    def newest_ts(self) -> int | None:
        """The newest sample time in the store, for the engine's notion of now."""

    def rejected(self, limit: int = 100) -> list[Rejected]: ...

    def rejected_count(self) -> int: ...

    def write_entries(self, entries: Iterable[Entry]) -> int:
        """Who entered which value by hand (the samples themselves go through `write`)."""

    def entries(
        self, machine: str | None = None, limit: int = 100, signal: str | None = None
    ) -> list[Entry]:
        """The newest hand entries first (of one machine, of one kind: `reason`, `handover`…)."""

    def write_alerts(self, events: Iterable[AlertEvent]) -> int:
        """What the alert rules said (fired, repeated, cleared)."""

    def alerts(self, start: int, end: int) -> list[AlertEvent]:
        """Alert events with `start <= ts < end`, oldest first."""

    def write_quality(self, events: Iterable[QualityEvent]) -> int:
        """Clock steps and skews (domain.md §9)."""

    def quality(self, start: int, end: int) -> list[QualityEvent]:
        """Clock steps and skews with `start <= ts < end`, oldest first."""

    def write_attempts(self, attempts: Iterable[Attempt]) -> int:
        """Workshop participants' answers."""

    def attempts(self, run: str) -> list[Attempt]:
        """Every answer given in one recipe run, oldest first."""

    def close(self) -> None: ...
