"""OEE straight from a store and a site config: what `fieldlab oee` and the dashboards call."""

from __future__ import annotations

import time

from fieldlab.config.site import SiteConfig
from fieldlab.kpi.load import load_history
from fieldlab.kpi.oee import Dialect, OeeResult, site_oee
from fieldlab.store.base import Store


def store_now(store: Store, wall_clock_ms: int | None = None) -> int:
    """The later of the wall clock and just after the newest sample, so a simulation that runs
    ahead of real time is measured in its own time and its newest sample is inside the window."""
    wall = int(time.time() * 1000) if wall_clock_ms is None else wall_clock_ms
    newest = store.newest_ts()
    return wall if newest is None else max(wall, newest + 1)


def machine_ids(store: Store, site: SiteConfig) -> list[str]:
    """Machines of the site config first, in its order, then any others the store knows."""
    known = list(site.machines)
    return known + [m for m in store.machines() if m not in site.machines]


def store_oee(
    store: Store,
    site: SiteConfig,
    machine: str,
    start: int,
    end: int,
    *,
    now: int,
    dialect: Dialect | None = None,
    micro_stop_threshold_s: float | None = None,
) -> OeeResult:
    history = load_history(store, machine, start, end, now)
    return site_oee(
        history,
        site,
        start,
        end,
        now=now,
        micro_stop_threshold_s=micro_stop_threshold_s,
        dialect=dialect,
    )
