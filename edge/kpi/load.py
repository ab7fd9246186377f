"""Reading from a store exactly what the engine needs for one machine and window.

A stop episode is classified by its full length (domain.md §5), so the state history is read
beyond the window on both sides until the episodes that touch it are complete: back to the last
running/planned_stop sample (or the machine's first sample), forward to the next one (or now).
"""

from __future__ import annotations

import numpy as np

from fieldlab.domain.history import MachineHistory, Series
from fieldlab.domain.samples import COUNTER_SIGNALS
from fieldlab.domain.states import STATES, STOP_STATES
from fieldlab.store.base import Store

_DAY_MS = 86_400_000
#: The states that end a stop episode; anything else (unknown values too) continues one.
_BOUNDARY = frozenset(s.value for s in STATES if s not in STOP_STATES)


def _has_boundary(values: np.ndarray) -> bool:
    return any(isinstance(v, str) and v in _BOUNDARY for v in values)


def load_history(store: Store, machine: str, start: int, end: int, now: int) -> MachineHistory:
    end = max(start, min(end, now))
    margin = _DAY_MS
    while True:
        lo = start - margin
        states = store.read(machine, "state", lo, end)
        carried = len(states) > 0 and states.ts[0] < lo
        if not carried or _has_boundary(states.values[states.ts <= start]):
            break
        margin *= 4
    open_at_end = len(states) > 0 and not _has_boundary(states.values[-1:])
    margin = _DAY_MS
    while open_at_end and end < now:
        hi = min(now + 1, end + margin)
        ahead = store.read(machine, "state", end, hi)
        ahead = Series(ahead.ts[ahead.ts >= end], ahead.values[ahead.ts >= end])
        if _has_boundary(ahead.values) or hi > now:
            states = states.concat(ahead)
            break
        margin *= 4
    # Reasons belong to the episode they fall in, which may last until now.
    span_lo = int(states.ts[0]) if len(states) else start
    still_open = len(states) > 0 and not _has_boundary(states.values[-1:])
    span_hi = now + 1 if still_open else max(end, int(states.ts[-1]) + 1 if len(states) else end)
    return MachineHistory(
        machine=machine,
        states=states,
        reasons=store.read(machine, "reason", span_lo, span_hi),
        products=store.read(machine, "product", start, end),
        counters={
            sig: s for sig in COUNTER_SIGNALS if len(s := store.read(machine, sig, start, end))
        },
        states_complete=not carried,
        power=store.read(machine, "power_kw", start, end),
        meter=store.read(machine, "energy_kwh", start, end),
        scrap_entries=store.read(machine, "scrap_entry", start, end),
        orders=store.read(machine, "order", start, end),
    )
