"""A machine's samples as numpy columns, the form the KPI engine computes on."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from fieldlab.domain.samples import COUNTER_SIGNALS, Sample


@dataclass(frozen=True)
class Series:
    """Samples of one signal, sorted by time, one value per instant (the last one written)."""

    ts: np.ndarray  # int64 epoch ms
    values: np.ndarray  # object (text) or numbers

    @classmethod
    def empty(cls) -> Series:
        return cls(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=object))

    @classmethod
    def of(cls, ts: Iterable[int], values: Iterable[object]) -> Series:
        ts_arr = np.asarray(list(ts) if not isinstance(ts, np.ndarray) else ts, dtype=np.int64)
        val_list = list(values) if not isinstance(values, np.ndarray) else values
        val_arr = np.empty(len(val_list), dtype=object)
        val_arr[:] = val_list
        return cls(ts_arr, val_arr).normalised()

    def normalised(self) -> Series:
        if self.ts.size < 2:
            return self
        if np.all(self.ts[1:] > self.ts[:-1]):
            return self
        order = np.argsort(self.ts, kind="stable")
        ts, values = self.ts[order], self.values[order]
        keep = np.ones(ts.size, dtype=bool)
        keep[:-1] = ts[1:] != ts[:-1]  # of equal instants, the last written wins
        return Series(ts[keep], values[keep])

    def __len__(self) -> int:
        return int(self.ts.size)

    def until(self, now: int) -> Series:
        """Only what had happened by ``now``."""
        if self.ts.size == 0 or self.ts[-1] <= now:
            return self
        n = int(np.searchsorted(self.ts, now, side="right"))
        return Series(self.ts[:n], self.values[:n])

    def concat(self, later: Series) -> Series:
        return Series(
            np.concatenate((self.ts, later.ts)), np.concatenate((self.values, later.values))
        ).normalised()


@dataclass
class MachineHistory:
    """What the engine needs of one machine; ``states_complete`` says the states begin at the
    machine's very first state sample, so the time before it is unknown (offline)."""

    machine: str
    states: Series = field(default_factory=Series.empty)
    reasons: Series = field(default_factory=Series.empty)
    products: Series = field(default_factory=Series.empty)
    counters: dict[str, Series] = field(default_factory=dict)
    states_complete: bool = True
    #: domain.md §8: held power (kW) and the cumulative meter (kWh), each with the last reading
    #: before the window (power holds into it; the meter's baseline)
    power: Series = field(default_factory=Series.empty)
    meter: Series = field(default_factory=Series.empty)
    #: domain.md §2: units a person found bad after the counter counted them good
    scrap_entries: Series = field(default_factory=Series.empty)
    #: domain.md §2: the production order running (figures per order, §5)
    orders: Series = field(default_factory=Series.empty)


def histories_from_samples(samples: Iterable[Sample]) -> dict[str, MachineHistory]:
    """Group in-memory samples by machine; the reference path the store path must agree with."""
    cols: dict[tuple[str, str], tuple[list[int], list[object]]] = defaultdict(lambda: ([], []))
    for s in samples:
        ts, vals = cols[(s.machine, s.signal)]
        ts.append(s.ts)
        vals.append(s.value)
    out: dict[str, MachineHistory] = {}
    for (machine, signal), (ts, vals) in cols.items():
        h = out.setdefault(machine, MachineHistory(machine))
        series = Series.of(ts, vals)
        if signal == "state":
            h.states = series
        elif signal == "reason":
            h.reasons = series
        elif signal == "product":
            h.products = series
        elif signal in COUNTER_SIGNALS:
            h.counters[signal] = series
        elif signal == "power_kw":
            h.power = series
        elif signal == "energy_kwh":
            h.meter = series
        elif signal == "scrap_entry":
            h.scrap_entries = series
        elif signal == "order":
            h.orders = series
    return out
