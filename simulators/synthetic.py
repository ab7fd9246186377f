"""Seeded synthetic machine histories, generated in one vectorised pass.

Not the protocol simulators (those play machines in real or compressed time): this writes a
plausible history of docs/domain.md samples directly, for benchmarks, property-style tests and the
demo's back-filled history. The same seed gives the same samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fieldlab.domain.intervals import IntervalSet
from fieldlab.domain.samples import Sample

STOP_KINDS = ("idle", "fault", "setup", "starved")
#: codes the kit has words for (the site's default reasons and the simulators'): a code without
#: them is shown as written, so "material_defect" read "material defect" on a Dutch page
FAULT_REASONS = ("tool_break", "jam", "sensor", "hydraulics", "material")


@dataclass(frozen=True)
class Profile:
    ideal_cycle_s: float = 30.0
    slowdown: float = 0.15  # mean extra cycle time over ideal
    mean_run_s: float = 480.0  # between stops: "a state change every few minutes"
    stop_mix: tuple[float, float, float, float] = (0.65, 0.15, 0.05, 0.15)  # per STOP_KINDS
    scrap_rate: float = 0.03
    products: tuple[str, ...] = ()


def synthetic_samples(
    machine: str,
    profile: Profile,
    start_ms: int,
    end_ms: int,
    seed: int,
    planned: IntervalSet | None = None,
) -> list[Sample]:
    """State, reason, product and counter samples of one machine over ``[start_ms, end_ms)``.

    With ``planned`` (the calendar's planned time) the machine stands in ``planned_stop`` and
    makes nothing outside it, as a real one outside its shifts does."""
    rng = np.random.default_rng(seed)
    span = end_ms - start_ms
    n = int(span / 1000 / (profile.mean_run_s + 60)) * 2 + 16
    run_ms = (rng.exponential(profile.mean_run_s, n) * 1000).astype(np.int64) + 1000
    kind = rng.choice(len(STOP_KINDS), size=n, p=np.array(profile.stop_mix))
    stop_s = np.select(
        [kind == 0, kind == 1, kind == 2, kind == 3],
        [
            rng.uniform(15, 100, n),
            rng.exponential(900, n) + 120,
            rng.uniform(900, 2700, n),
            rng.exponential(240, n) + 30,
        ],
    )
    stop_ms = (stop_s * 1000).astype(np.int64)
    run_start = start_ms + np.concatenate(([0], np.cumsum(run_ms + stop_ms)[:-1]))
    stop_start = run_start + run_ms
    keep = run_start < end_ms
    run_start, stop_start, run_ms, kind = (
        run_start[keep],
        stop_start[keep],
        run_ms[keep],
        kind[keep],
    )
    run_end = np.minimum(stop_start, end_ms)

    out: list[Sample] = []
    add = out.append
    product_idx = 0
    products = profile.products
    if products:
        add(Sample(int(start_ms), machine, "product", products[0]))
    reasons = rng.integers(0, len(FAULT_REASONS), size=kind.size)
    for i in range(kind.size):
        add(Sample(int(run_start[i]), machine, "state", "running"))
        if stop_start[i] < end_ms:
            k = STOP_KINDS[kind[i]]
            add(Sample(int(stop_start[i]), machine, "state", k))
            if k == "fault":
                add(Sample(int(stop_start[i]) + 1, machine, "reason", FAULT_REASONS[reasons[i]]))
            elif k == "setup":
                add(Sample(int(stop_start[i]) + 1, machine, "reason", "changeover"))
                if products:
                    product_idx = (product_idx + 1) % len(products)
                    nxt = i + 1
                    if nxt < kind.size:
                        add(Sample(int(run_start[nxt]), machine, "product", products[product_idx]))

    # Cycles: one count_total sample per completed cycle; count_scrap when a part is rejected.
    cycle_ms = (
        profile.ideal_cycle_s * 1000 * (1 + rng.exponential(profile.slowdown, kind.size))
    ).astype(np.int64)
    per_seg = np.maximum((run_end - run_start) // cycle_ms, 0)
    total_cycles = int(per_seg.sum())
    seg_of = np.repeat(np.arange(kind.size), per_seg)
    within = np.arange(total_cycles) - np.repeat(np.cumsum(per_seg) - per_seg, per_seg)
    cycle_ts = run_start[seg_of] + (within + 1) * cycle_ms[seg_of]
    scrap = rng.random(total_cycles) < profile.scrap_rate
    if planned is not None:
        on = planned.contains(cycle_ts)
        cycle_ts, scrap = cycle_ts[on], scrap[on]
        total_cycles = int(cycle_ts.size)
        out = _apply_calendar(out, planned, start_ms, end_ms)
    add(Sample(int(start_ms), machine, "count_total", 0))
    add(Sample(int(start_ms), machine, "count_scrap", 0))
    out.extend(
        Sample(int(ts), machine, "count_total", int(v))
        for ts, v in zip(cycle_ts, np.arange(1, total_cycles + 1), strict=True)
    )
    scrap_ts = cycle_ts[scrap]
    out.extend(
        Sample(int(ts), machine, "count_scrap", int(v))
        for ts, v in zip(scrap_ts, np.arange(1, scrap_ts.size + 1), strict=True)
    )
    out.sort(key=lambda s: s.ts)
    return out


def _apply_calendar(
    samples: list[Sample], planned: IntervalSet, start_ms: int, end_ms: int
) -> list[Sample]:
    """planned_stop outside planned time; at its end, the state the machine would be in."""
    gaps = IntervalSet.single(start_ms, end_ms).subtract(planned)
    states = [s for s in samples if s.signal == "state"]
    state_ts = np.array([s.ts for s in states], dtype=np.int64)
    inside = ~gaps.contains(np.array([s.ts for s in samples], dtype=np.int64))
    out = [s for s, keep in zip(samples, inside, strict=True) if keep or s.signal == "product"]
    machine = samples[0].machine if samples else ""
    for g_start, g_end in zip(gaps.starts, gaps.ends, strict=True):
        out.append(Sample(int(g_start), machine, "state", "planned_stop"))
        if g_end < end_ms:
            idx = int(np.searchsorted(state_ts, g_end, side="right")) - 1
            resume = states[idx].value if idx >= 0 else "running"
            out.append(Sample(int(g_end), machine, "state", resume))
    out.sort(key=lambda s: s.ts)
    return out
