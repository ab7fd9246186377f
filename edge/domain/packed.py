"""Samples in columns: how a gateway worker hands a batch to the gateway's one writer.

At broker speed with batched payloads the writer's process is the limit, and a `Sample` object
per value costs it more than SQLite does (`fieldlab bench ingest-mqtt`: unpickling 4-tuples
0.5 µs and building `Sample`s 0.9 µs a value, against 1.25 µs for the upsert itself). Columns
unpickle at 0.08 µs a value and go into `executemany` as they are; `samples()` builds the
objects only where something needs them one by one (an alert rule, an InfluxDB line, a
retained value to stamp).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fieldlab.domain.samples import Sample, Value


@dataclass(slots=True)
class Packed:
    #: the batch's distinct (machine, signal)
    keys: list[tuple[str, str]]
    #: per value: its index in `keys`
    key: list[int]
    ts: list[int]
    values: list[Value]
    #: per index in `keys`: the newest (ts, value) (what the store's `latest` table keeps)
    newest: list[tuple[int, Value]]

    @classmethod
    def of(cls, samples: Sequence[Sample]) -> Packed:
        index: dict[tuple[str, str], int] = {}
        keys: list[tuple[str, str]] = []
        key: list[int] = []
        ts: list[int] = []
        values: list[Value] = []
        newest: list[tuple[int, Value]] = []
        for s in samples:
            k = (s.machine, s.signal)
            i = index.get(k)
            if i is None:
                i = index[k] = len(keys)
                keys.append(k)
                newest.append((s.ts, s.value))
            elif s.ts >= newest[i][0]:
                newest[i] = (s.ts, s.value)
            key.append(i)
            ts.append(s.ts)
            values.append(s.value)
        return cls(keys, key, ts, values, newest)

    def __len__(self) -> int:
        return len(self.ts)

    def samples(self) -> list[Sample]:
        keys = self.keys
        return [
            Sample(t, keys[k][0], keys[k][1], v)
            for k, t, v in zip(self.key, self.ts, self.values, strict=True)
        ]

    def machines(self) -> set[str]:
        return {m for m, _ in self.keys}
