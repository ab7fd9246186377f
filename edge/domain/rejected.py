"""Input that could not become a sample, kept with why: a dead letter (DOMAIN.md: bad input
gets a clear error and loses nothing). Connectors make them, sinks keep them, pages show them."""

from __future__ import annotations

from dataclasses import dataclass

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
