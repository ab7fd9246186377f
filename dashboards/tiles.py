"""What a machine's tile says, once: the overview and the andon screen draw it each their size."""

from __future__ import annotations

from dataclasses import dataclass

from fieldlab.dashboards import data
from fieldlab.dashboards.charts import STATE_COLORS
from fieldlab.dashboards.context import Context


@dataclass(frozen=True)
class Tile:
    machine: str
    name: str
    state: str
    color: str
    state_line: str  # `storing · vastloper · al 12 min`, or `offline sinds …`
    oee: str
    availability: str
    performance: str
    quality: str
    notes: list[str]  # every flag as a sentence (what it means, what to check)
    progress: str  # `goed 2.522 / doel 5.929`
    coverage: str  # `62,0 % waargenomen` below 95 % (domain.md §5), else ""


def tile(ctx: Context, machine: str) -> Tile:
    r = data.oee(
        ctx.store_url, str(ctx.config_path), machine, ctx.start, ctx.end, ctx.now, ctx.threshold
    )
    latest = {sig: (ts, v) for ts, _, sig, v in data.latest(ctx.store_url, machine)}
    state_ts, state = latest.get("state", (None, "offline"))
    if state_ts is not None:
        state_ts = data.state_since(ctx.store_url, machine) or state_ts
    ict = ctx.site.machine(machine).ideal_cycle_time_s
    target = int(r.planned_s / ict) if ict else 0
    # no good counter: every unit counts as good (the quality_assumed_1 note says so)
    good = r.good if r.good is not None else r.total
    return Tile(
        machine=machine,
        name=ctx.site.machine(machine).label(ctx.lang, machine),
        state=str(state),
        color=STATE_COLORS.get(str(state), "#424242"),
        state_line=ctx.state_line(str(state), state_ts, ctx.current_reason(r, str(state))),
        oee=ctx.t("no_data") if r.no_data else ctx.pct(r.oee),
        availability=ctx.pct(r.availability),
        performance=ctx.pct(r.performance),
        quality=ctx.pct(r.quality),
        notes=ctx.notes(r),
        progress=ctx.t("target_now", good=good or 0, target=target),
        coverage=ctx.coverage(r),
    )
