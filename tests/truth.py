"""The simulator's truth against what came through the gateway: the comparisons the
end-to-end tests share, and a simulation run in-process."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

from fieldlab.config import load_site_config
from fieldlab.kpi.query import store_oee
from fieldlab.simulators.runner import Simulation
from fieldlab.simulators.scenario import Scenario
from fieldlab.store import SqliteStore
from tests.helpers import MIN, local

#: where the end-to-end runs begin (`fieldlab sim --start`, tests/sim_gateway.py)
START = local("2026-03-02 07:00")
#: where an in-process simulation begins unless told: a Monday, 06:00
RUN_START = local("2026-03-02 06:00")
HOUR = 60 * MIN


def compare(site_path: Path, truth: Path, minutes: int) -> dict[str, tuple]:
    from fieldlab.store.ingest import ingest_file

    site = load_site_config(site_path)
    truth_db = site_path.parent / "truth.db"
    with SqliteStore(truth_db) as store:
        ingest_file(store, truth, quiet=True)
    end = START + minutes * MIN
    out = {}
    with (
        SqliteStore(site_path.parent / "gateway.db", readonly=True) as gw,
        SqliteStore(truth_db, readonly=True) as tr,
    ):
        for m in site.machines:
            g = store_oee(gw, site, m, START, end + MIN, now=end + MIN)
            t = store_oee(tr, site, m, START, end + MIN, now=end + MIN)
            # Energy up to the simulated end: after it the truth holds the last power to `now`
            # while the gateway's stop ends it with `offline`.
            g.energy = store_oee(gw, site, m, START, end, now=end).energy
            t.energy = store_oee(tr, site, m, START, end, now=end).energy
            out[m] = (g, t)
    return out


def check(results: dict[str, tuple], tolerance: float = 0.005, poll_lag_s: float = 0.0) -> None:
    """`poll_lag_s`: how late (in simulated seconds) a polled reading may be, which moves every
    state boundary of a polled machine by up to that much (Modbus at 120×: 100 ms = 12 s)."""
    problems = []
    for m, (g, t) in results.items():
        print(f"{m:9s} OEE gateway {g.oee:.4f} truth {t.oee:.4f}  total {g.total} / {t.total}")
        if abs((g.oee or 0) - (t.oee or 0)) > tolerance:
            problems.append(f"{m}: OEE {g.oee:.4f} vs truth {t.oee:.4f}")
        for key in ("total", "good", "scrap"):
            if (
                getattr(t, key) is not None
                and getattr(g, key) is not None
                and getattr(g, key) != getattr(t, key)
            ):
                problems.append(f"{m}: {key} {getattr(g, key)} vs truth {getattr(t, key)}")
        if t.total and g.total is None:
            problems.append(f"{m}: no counts through the gateway")
        problems += energy_problems(m, g, t, poll_lag_s=poll_lag_s)
    assert not problems, "\n".join(problems)


def energy_problems(
    m: str, g, t, rel: float = 0.01, slack_kwh: float = 0.002, poll_lag_s: float = 0.0
) -> list[str]:
    """domain.md §8 through the whole path: every machine has a power meter in the simulator,
    and its kWh, kWh by state and kWh per good unit agree with the truth within 1 % (plus the
    meter's 1 Wh resolution on Modbus). The split by state may also move by the poll lag at
    each of the truth's state boundaries, at the machine's mean power."""
    if t.energy is None:
        return [f"{m}: the truth has no energy"]
    if g.energy is None:
        return [f"{m}: no energy through the gateway"]
    print(f"{m:9s} kWh gateway {g.energy.kwh:.4f} truth {t.energy.kwh:.4f}")
    hours = (t.end - t.start) / 3_600_000
    boundaries = 2 * len(t.episodes.start)
    lag_kwh = boundaries * poll_lag_s / 3600 * (t.energy.kwh / hours if hours else 0.0)

    def off(a: float | None, b: float | None, lag: float = 0.0) -> bool:
        return (a is None) != (b is None) or (
            a is not None and b is not None and abs(a - b) > rel * abs(b) + slack_kwh + lag
        )

    out = []
    if off(g.energy.kwh, t.energy.kwh):
        out.append(f"{m}: kWh {g.energy.kwh:.4f} vs truth {t.energy.kwh:.4f}")
    if off(g.energy.non_productive_kwh, t.energy.non_productive_kwh, lag_kwh):
        out.append(
            f"{m}: non-productive kWh {g.energy.non_productive_kwh}"
            f" vs truth {t.energy.non_productive_kwh}"
        )
    running = (g.energy.by_state_kwh.get("running"), t.energy.by_state_kwh.get("running"))
    if off(*running, lag_kwh):
        out.append(f"{m}: running kWh {running[0]} vs truth {running[1]}")
    return out


def run_sim(
    scenario: Scenario,
    truth: Path | None,
    hours: float,
    *,
    start: int = RUN_START,
    store: SqliteStore | None = None,
    **kw,
) -> Simulation:
    """``store``: the samples written there as the simulation makes them, instead of a truth
    file to ingest (the same rows; a fortnight of three machines is a million samples, and
    their JSON text there and back took two thirds of making it)."""
    sim = Simulation(scenario, start_ms=start, truth=truth, speed=kw.pop("speed", math.inf), **kw)
    if store is not None:
        sim.truth = _IntoStore(store)  # type: ignore[assignment]

    async def go() -> None:
        await sim.start()
        await sim.run(sim_until=start + int(hours * HOUR))
        await sim.stop()

    asyncio.run(go())
    return sim


class _IntoStore:
    """Where a `TruthWriter` would write the truth file: batches of 20,000 into a store."""

    def __init__(self, store: SqliteStore):
        self.store, self.count, self._batch = store, 0, []

    def write(self, batch: list) -> None:
        self._batch += batch
        if len(self._batch) >= 20_000:
            self.flush()

    def flush(self) -> None:
        self.count += self.store.write(self._batch)
        self._batch = []

    def close(self) -> None:
        self.flush()
