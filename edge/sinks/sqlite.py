"""The SQLite sink: the embedded historian, written through the store interface."""

from __future__ import annotations

from fieldlab.domain.packed import Packed
from fieldlab.domain.rejected import Rejected
from fieldlab.domain.samples import Sample
from fieldlab.store.sqlite import SqliteStore


class SqliteSink:
    def __init__(self, store: SqliteStore, name: str = "sqlite"):
        self.name = name
        self.store = store
        self.written = 0

    def accept(self, samples: list[Sample], rejected: list[Rejected]) -> None:
        if rejected:
            self.store.write_rejected(rejected)
        if samples:
            self.written += self.store.write(samples)

    def accept_packed(
        self, samples: list[Sample], rejected: list[Rejected], packed: list[Packed]
    ) -> None:
        if rejected:
            self.store.write_rejected(rejected)
        self.written += self.store.write(samples, packed)

    def newest(self) -> dict[str, tuple[int, int | None, str | None]]:
        return {}

    async def run(self) -> None:
        return None

    def stats(self) -> dict[str, float]:
        return {"written": self.written}

    def close(self) -> None:
        self.store.close()
