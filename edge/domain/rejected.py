"""Input that could not become a sample, kept with why: a dead letter (docs/domain.md: bad input
gets a clear error and loses nothing). Connectors make them, sinks keep them, pages show them."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

#: How much of a rejected payload is kept: enough to recognise it, bounded for a flood.
REJECTED_PAYLOAD_LIMIT = 2000


@dataclass(frozen=True)
class Rejected:
    """Input that could not become a sample, kept with why (a dead letter)."""

    source: str  # e.g. "ingest:day1.jsonl:17" or "mqtt:fieldlab/site/press-1/state"
    payload: str
    reason: str
    received: int | None = None  # epoch ms; the store fills in now when None
    #: the same source and reason this many more times since the record before (domain.md §10):
    #: a record stands for 1 + repeats rejections
    repeats: int = 0

    def truncated(self) -> Rejected:
        if len(self.payload) <= REJECTED_PAYLOAD_LIMIT:
            return self
        cut = self.payload[:REJECTED_PAYLOAD_LIMIT] + f"… ({len(self.payload)} chars)"
        return replace(self, payload=cut)


#: domain.md §10: one record per source and reason per this many ms
REPEAT_WINDOW_MS = 3_600_000


@dataclass
class _Window:
    start: int  # when the record that opened it was kept (ms, the gateway's clock)
    pending: int = 0  # rejections since, not yet kept as a record
    last: Rejected | None = None


@dataclass
class RejectionThrottle:
    """Keeps one record per distinct (source, reason) per hour and counts the repeats
    (domain.md §10), so a field mapped wrong and polled five times a second cannot fill a disk.

    The first rejection of a kind is kept at once. Repeats within the hour are counted; the
    first one after the hour is kept carrying that count, and `flush` keeps what is still
    counted when the source stops. So the records still add up to every rejection: the sum of
    1 + repeats."""

    window_ms: int = REPEAT_WINDOW_MS
    _open: dict[tuple[str, str], _Window] = field(default_factory=dict)

    def keep(self, records: list[Rejected], now: int | None = None) -> list[Rejected]:
        if not records:
            return records
        now = int(time.time() * 1000) if now is None else now
        kept: list[Rejected] = []
        for r in records:
            key = (r.source, r.reason)
            w = self._open.get(key)
            if w is None or now - w.start >= self.window_ms:
                pending = w.pending if w is not None else 0
                self._open[key] = _Window(now)
                kept.append(replace(r, repeats=r.repeats + pending) if pending else r)
            else:
                w.pending += 1 + r.repeats
                w.last = r
        return kept

    def flush(self) -> list[Rejected]:
        """What was counted and not yet kept, one record per kind (at a stop)."""
        out = []
        for w in self._open.values():
            if w.pending and w.last is not None:
                out.append(replace(w.last, repeats=w.pending - 1))
                w.pending, w.last = 0, None
        return out

    @property
    def repeats(self) -> int:
        """Rejections counted and not (yet) kept as records."""
        return sum(w.pending for w in self._open.values())
