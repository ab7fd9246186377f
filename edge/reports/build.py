"""The report's figures, all from the store through the same engine as `fieldlab oee`, so every
number in it equals `fieldlab oee --json` for the same window (a test holds it so)."""

from __future__ import annotations

from dataclasses import dataclass, field

from fieldlab.config.site import DisplayName, SiteConfig, display_name
from fieldlab.domain.alerts import AlertEvent
from fieldlab.domain.answers import SIGNAL as ANSWER_SIGNAL
from fieldlab.domain.answers import AlertAnswer
from fieldlab.domain.entries import Entry
from fieldlab.kpi.oee import OeeResult
from fieldlab.kpi.orders import OrderRun, order_runs
from fieldlab.kpi.query import machine_ids, store_oee
from fieldlab.reports.week import Week
from fieldlab.store import Store

TOP_ORDERS = 10


@dataclass(frozen=True)
class Loss:
    machine: str
    what: str  # a state (category) or a stop reason code; "" = nobody said why
    minutes: float
    money: float | None  # minutes × the margin per hour, if the site sets one


@dataclass
class MachineWeek:
    machine: str
    names: DisplayName | None  # the site's display name(s): `label(lang)` picks the reader's
    result: OeeResult
    trend: list[tuple[Week, float | None]]  # oldest first, this week last
    compare: OeeResult | None = None

    def label(self, lang: str) -> str:
        return display_name(self.names, lang, self.machine)


@dataclass
class WeeklyReport:
    site: SiteConfig
    week: Week
    start: int
    end: int
    machines: list[MachineWeek]
    losses: list[Loss]
    alerts: list[AlertEvent]
    compare: Week | None = None
    notes: list[str] = field(default_factory=list)
    #: the week's production orders, the most good units first (at most TOP_ORDERS)
    orders: list[OrderRun] = field(default_factory=list)
    #: what the shifts told each other at the machines, oldest first
    handovers: list[Entry] = field(default_factory=list)
    #: the first answer people gave to each firing: (rule, subject, since) → answer
    answers: dict[tuple[str, str, int], AlertAnswer] = field(default_factory=dict)

    @property
    def downtime_money(self) -> float | None:
        money = [loss.money for loss in self.losses if loss.money is not None]
        return sum(money) if money else None


def build_report(
    store: Store, site: SiteConfig, week: Week, now: int, compare: Week | None = None
) -> WeeklyReport:
    tz = site.tz
    start, end = week.bounds(tz)
    trend_weeks = [week.shifted(-k) for k in range(site.reports.weeks_of_trend - 1, -1, -1)]
    machines, orders = [], []
    for m in machine_ids(store, site):
        orders += order_runs(store, site, m, start, end, now=now)
        result = store_oee(store, site, m, start, end, now=now)
        trend = []
        for w in trend_weeks:
            s, e = w.bounds(tz)
            trend.append(
                (w, result.oee if w == week else store_oee(store, site, m, s, e, now=now).oee)
            )
        other = None
        if compare is not None:
            cs, ce = compare.bounds(tz)
            other = store_oee(store, site, m, cs, ce, now=now)
        machines.append(MachineWeek(m, site.machine(m).name, result, trend, other))
    return WeeklyReport(
        site,
        week,
        start,
        end,
        machines,
        top_losses(machines, site),
        store.alerts(start, end),
        compare,
        orders=sorted(orders, key=lambda o: -(o.result.good or 0))[:TOP_ORDERS],
        handovers=sorted(
            (e for e in store.entries(limit=5000, signal="handover") if start <= e.ts < end),
            key=lambda e: e.ts,
        ),
        answers=first_answers(store.entries(limit=5000, signal=ANSWER_SIGNAL)),
    )


def first_answers(entries: list[Entry]) -> dict[tuple[str, str, int], AlertAnswer]:
    """From entries newest first: the first answer to each firing."""
    out: dict[tuple[str, str, int], AlertAnswer] = {}
    for e in reversed(entries):
        a = AlertAnswer.from_entry(e)
        if a is not None:
            out.setdefault((a.rule, a.subject, a.since), a)
    return out


def top_losses(machines: list[MachineWeek], site: SiteConfig, n: int = 10) -> list[Loss]:
    """The stop reasons that cost the most minutes, over every machine (a reason nobody gave
    counts as its own row: that is a finding too)."""
    margin = site.reports.margin_per_hour
    rows = [
        Loss(
            mw.machine,
            row["reason"] or "",
            row["downtime_s"] / 60,
            None if margin is None else row["downtime_s"] / 3600 * margin,
        )
        for mw in machines
        for row in mw.result.reasons
        if row["downtime_s"] > 0
    ]
    return sorted(rows, key=lambda r: -r.minutes)[:n]
