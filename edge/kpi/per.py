"""Figures per production order or per product (domain.md §5): the same figures over the
instants where `order` (or `product`) held one value, within the window."""

from __future__ import annotations

from typing import Literal

import numpy as np

from fieldlab.config.site import SiteConfig
from fieldlab.domain.history import MachineHistory, Series
from fieldlab.domain.intervals import IntervalSet
from fieldlab.kpi.oee import Dialect, OeeResult, site_oee

By = Literal["order", "product"]


def held(series: Series, now: int) -> dict[str, IntervalSet]:
    """Each value's instants: a value holds from its sample until the next one (the last until
    now); an empty value (`order: ""` ends an order) holds nothing."""
    out: dict[str, tuple[list[int], list[int]]] = {}
    ts = series.ts
    for i, value in enumerate(series.values.tolist()):
        if not isinstance(value, str) or not value:
            continue
        until = int(ts[i + 1]) if i + 1 < ts.size else max(now, int(ts[i]))
        starts, ends = out.setdefault(value, ([], []))
        starts.append(int(ts[i]))
        ends.append(until)
    return {
        v: IntervalSet.union_of(np.array(s, dtype=np.int64), np.array(e, dtype=np.int64))
        for v, (s, e) in out.items()
    }


def oee_per(
    history: MachineHistory,
    site: SiteConfig,
    by: By,
    start: int,
    end: int,
    *,
    now: int,
    micro_stop_threshold_s: float | None = None,
    dialect: Dialect | None = None,
) -> list[tuple[str, OeeResult]]:
    """(value, figures) for every order or product that held in ``[start, end)``, in the order
    they first ran."""
    series = history.orders if by == "order" else history.products
    window = IntervalSet.union_of(np.array([start]), np.array([max(start, min(end, now))]))
    out = []
    for value, instants in held(series.until(now), now).items():
        if not instants.intersect(window).total:
            continue
        r = site_oee(
            history,
            site,
            start,
            end,
            now=now,
            micro_stop_threshold_s=micro_stop_threshold_s,
            dialect=dialect,
            within=instants,
        )
        r.part = (by, value)
        out.append((value, r))
    return out
