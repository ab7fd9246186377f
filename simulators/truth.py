"""The ground-truth log: every sample a simulated machine really produced, as domain.md JSONL."""

from __future__ import annotations

from pathlib import Path
from typing import IO

from fieldlab.domain.samples import Sample
from fieldlab.store.files import write_jsonl


class TruthWriter:
    """Appends batches in a fixed order: by time, then by the scenario's machine order, then in
    the order the machine produced them, so the file is byte-identical for the same seed
    whatever the speed or the tick timing."""

    def __init__(self, path: Path | None, machine_order: list[str]):
        self._rank = {m: i for i, m in enumerate(machine_order)}
        self._fh: IO[str] | None = None
        self.count = 0
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = path.open("w", encoding="utf-8")

    def write(self, batch: list[Sample]) -> None:
        if self._fh is None or not batch:
            return
        ordered = sorted(batch, key=lambda s: (s.ts, self._rank[s.machine]))
        self.count += write_jsonl(ordered, self._fh)

    def flush(self) -> None:
        if self._fh is not None:
            self._fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
