"""Production orders as people see them (#29, domain.md §5): each order that ran on a machine in
a window, with its product, when it ran, the target the terminal was given and its figures over
the instants the order held. One function for the terminal, the Orders page, the report and
`fieldlab oee --by order`'s readers, so they cannot disagree."""

from __future__ import annotations

from dataclasses import dataclass

from fieldlab.config.site import SiteConfig
from fieldlab.kpi.load import load_history
from fieldlab.kpi.oee import OeeResult
from fieldlab.kpi.per import held, oee_per
from fieldlab.store.base import Store

#: the process value the terminal writes at an order's start: how many good units it asks for
TARGET_SIGNAL = "order_target"


@dataclass(frozen=True)
class OrderRun:
    machine: str
    order: str
    product: str  # "" when nobody said
    first: int  # the first and last instant of the order inside the window (epoch ms)
    last: int
    target: int | None  # good units asked for; None when the order was started without one
    result: OeeResult

    @property
    def to_target(self) -> float | None:
        """Good units as a share of the target (1.0 = done)."""
        good = self.result.good
        return None if not self.target or good is None else good / self.target


def order_runs(
    store: Store,
    site: SiteConfig,
    machine: str,
    start: int,
    end: int,
    *,
    now: int,
    micro_stop_threshold_s: float | None = None,
) -> list[OrderRun]:
    """Every order that held on ``machine`` in ``[start, end)``, in the order they ran."""
    history = load_history(store, machine, start, end, now)
    spans = held(history.orders.until(now), now)
    out = []
    for order, r in oee_per(
        history, site, "order", start, end, now=now, micro_stop_threshold_s=micro_stop_threshold_s
    ):
        first = max(start, int(spans[order].starts[0]))
        last = min(end, now, int(spans[order].ends[-1]))
        # the product it made: the one running at its end (a changeover belongs to the order
        # it prepares, so at the order's start the last order's product may still be set)
        products = history.products.until(max(first, last - 1))
        product = str(products.values[-1]) if len(products) else ""
        # the target given when the order (last) began: at or after its start, before its end
        begun, ended = int(spans[order].starts[-1]), int(spans[order].ends[-1])
        targets = store.read(machine, TARGET_SIGNAL, begun, ended)
        given = [
            float(v)
            for ts, v in zip(targets.ts.tolist(), targets.values.tolist(), strict=True)
            if begun <= ts < ended
        ]
        target = int(given[-1]) if given and given[-1] > 0 else None
        out.append(OrderRun(machine, order, product, first, last, target, r))
    return out
