"""Machine: OEE against targets, the loss cascade, the state timeline with shifts and breaks,
the downtime Pareto, good units against target, and process values on the same time axis."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from fieldlab.dashboards import charts, data
from fieldlab.dashboards.context import Context, page_setup
from fieldlab.domain.counters import counter_deltas
from fieldlab.domain.samples import COUNTER_SIGNALS, TEXT_SIGNALS
from fieldlab.i18n import N_


def local_series(ctx: Context, ts: list[int]) -> pd.Series:
    """Wall-clock times of the site, without offset: Vega-Lite draws naive times as given,
    so the axis reads in the site's time zone whatever the browser's is."""
    utc = pd.to_datetime(pd.Series(ts, dtype="int64"), unit="ms", utc=True)
    return utc.dt.tz_convert(ctx.tz).dt.tz_localize(None)


def wall(ms: int):
    """An instant as the site's wall-clock time without offset (see local_series)."""
    return ctx.local(ms).replace(tzinfo=None)


ctx = page_setup("page.machine")
machines = ctx.machines()
machine = st.selectbox(
    ctx.t("page.machine"),
    machines,
    key="machine",
    format_func=lambda m: f"{m} · {ctx.site.machine(m).label(ctx.lang, '')}",
)
end = min(ctx.end, ctx.now)
r = data.oee(
    ctx.store_url, str(ctx.config_path), machine, ctx.start, ctx.end, ctx.now, ctx.threshold
)
targets = ctx.site.targets_for(machine)  # the site file's `targets:` (machine, then site)
cols = st.columns(4)
for col, key, label in zip(
    cols,
    ("oee", N_("availability"), N_("performance"), N_("quality")),
    ("OEE", *(ctx.t(f"letter.{k}") for k in ("availability", "performance", "quality"))),
    strict=True,
):
    value = getattr(r, key)
    gap = None if value is None else 100 * (value - targets[key])
    col.metric(
        label if key == "oee" else f"{label} ({ctx.t(key)})",
        ctx.pct(value),
        # an ASCII minus: Streamlit colours and points the delta by it (red, down)
        None if gap is None else f"{'+' if gap >= 0 else '-'}{ctx.num(abs(gap), 1)} pp",
        help=f"{ctx.t('target')}: {ctx.pct(targets[key])}",
    )
st.caption(f"{ctx.t('coverage')}: {ctx.pct(r.coverage)} · {ctx.t('coverage.help')}")
for note in ctx.notes(r):
    st.warning(note, icon="⚠️")

# Loss cascade: planned → downtime by category → small stops → speed loss → scrap → productive
left, right = st.columns(2)
with left:
    st.subheader(ctx.t("loss_cascade"))
    ideal = r.ideal_s or 0.0
    q = r.quality if r.quality is not None else 1.0
    rows = [(ctx.t("planned"), r.planned_s / 60)]
    rows += [(ctx.t(f"state.{k}"), v / 60) for k, v in r.losses_s.items() if v > 0]
    rows += [
        (ctx.t("small_stops"), r.small_stop_s / 60),
        (ctx.t("speed_loss"), max(0.0, r.run_s - r.small_stop_s - ideal) / 60),
        (ctx.t("scrap_loss"), ideal * (1 - q) / 60),
        (ctx.t("fully_productive"), ideal * q / 60),
    ]
    st.altair_chart(
        charts.localized(charts.loss_cascade(rows, ctx.t("duration_min")), ctx.lang),
        width="stretch",
    )
with right:
    st.subheader(ctx.t("pareto"))
    if r.reasons:
        df = pd.DataFrame(
            [
                {
                    "reason": ctx.reason(x["reason"]),
                    "minutes": round(x["downtime_s"] / 60, 1),
                    "episodes": x["episodes"],
                }
                for x in r.reasons
            ]
        )
        df["cumulative"] = (df["minutes"].cumsum() / max(df["minutes"].sum(), 1e-9) * 100).round(1)
        st.altair_chart(
            charts.localized(
                charts.pareto(df, ctx.t("duration_min"), ctx.t("count"), ctx.t("cumulative")),
                ctx.lang,
            ),
            width="stretch",
        )
        st.dataframe(
            pd.DataFrame(
                {
                    ctx.t("reason"): df["reason"],
                    ctx.t("duration_min"): [ctx.num(v, 1) for v in df["minutes"]],
                    ctx.t("episodes"): [ctx.num(v) for v in df["episodes"]],
                    ctx.t("cumulative"): [f"{ctx.num(v, 1)} %" for v in df["cumulative"]],
                }
            ),
            hide_index=True,
            width="stretch",
        )
    else:
        st.caption("–")

# Timeline with shift and break bands
st.subheader(ctx.t("timeline"))
domain = (f"{ctx.local(ctx.start):%Y-%m-%dT%H:%M:%S}", f"{ctx.local(end):%Y-%m-%dT%H:%M:%S}")
ts, states = data.series(ctx.store_url, machine, "state", ctx.start, end)
rts, reasons = data.series(ctx.store_url, machine, "reason", ctx.start, end)
if ts:
    starts = np.maximum(np.array(ts, dtype=np.int64), ctx.start)
    ends = np.append(np.array(ts[1:], dtype=np.int64), end)
    idx = np.searchsorted(np.array(rts, dtype=np.int64), np.array(ts), side="right") - 1
    seg = pd.DataFrame(
        {
            "machine": machine,
            "state": states,
            "reason": [
                ctx.reason(reasons[i])
                if i >= 0 and reasons[i] and states[k] not in ("running", "planned_stop", "offline")
                else ""
                for k, i in enumerate(idx)
            ],
            "start": local_series(ctx, starts.tolist()),
            "end": local_series(ctx, ends.tolist()),
            "minutes": (ends - starts) / 60000,
        }
    )
    seg = seg[seg["minutes"] > 0]
    bands = pd.DataFrame(
        [
            {
                "band": "shift",
                "name": n or d,
                "start": wall(max(s, ctx.start)),
                "end": wall(min(e, end)),
            }
            for n, d, s, e in data.shifts(str(ctx.config_path), ctx.start, end)
        ]
        + [
            {"band": "break", "name": "", "start": wall(s), "end": wall(e)}
            for s, e in data.breaks(str(ctx.config_path), ctx.start, end)
        ]
    )
    labels = {code: ctx.state(code) for code in charts.STATE_COLORS}
    st.altair_chart(
        charts.localized(charts.timeline(seg, bands, domain, labels), ctx.lang), width="stretch"
    )

# Good units against target (worm chart)
st.subheader(ctx.t("worm"))
sig = "count_good" if "count_good" in data.signals(ctx.store_url, machine) else "count_total"
cts, cvals = data.series(ctx.store_url, machine, sig, ctx.start, end)
ict = ctx.site.machine(machine).ideal_cycle_time_s
if cts and ict:
    wrap = ctx.site.machine(machine).wrap_of(sig)
    deltas = counter_deltas(np.array(cvals, dtype=np.int64), wrap)
    inside = np.array(cts) >= ctx.start
    times = np.array(cts)[inside]
    good = np.cumsum(deltas[inside])
    grid = np.linspace(ctx.start, end, 200).astype(np.int64)
    planned = ctx.site.shift_calendar().planned(ctx.start, end)
    target = planned.cumulative(grid) / 1000 / ict
    worm = pd.concat(
        [
            pd.DataFrame(
                {"time": local_series(ctx, times.tolist()), "units": good, "series": ctx.t("good")}
            ),
            pd.DataFrame(
                {
                    "time": local_series(ctx, grid.tolist()),
                    "units": target,
                    "series": ctx.t("target"),
                }
            ),
        ]
    )
    st.altair_chart(
        charts.localized(charts.worm(worm, domain, ctx.t("good"), ctx.t("target")), ctx.lang),
        width="stretch",
    )

# Energy (domain.md §8): by state, and per good unit bucket by bucket
if r.energy is not None:
    e = r.energy
    st.subheader(ctx.t("energy_title"))
    c1, c2, c3 = st.columns(3)
    c1.metric("kWh", ctx.num(e.kwh, 1))
    c2.metric(ctx.t("kwh_per_good"), ctx.num(e.kwh_per_good, 3) if e.kwh_per_good else "–")
    c3.metric(
        ctx.t("non_productive"),
        "–" if e.non_productive_kwh is None else f"{ctx.num(e.non_productive_kwh, 1)} kWh",
        help=ctx.t("non_productive.help"),
    )
    if e.cost is not None:
        st.caption(f"{ctx.t('energy_cost')}: {ctx.num(e.cost, 2)} {e.currency}")
    labels = {code: ctx.state(code) for code in charts.STATE_COLORS}
    left, right = st.columns(2)
    if e.by_state_kwh:
        used = pd.DataFrame([{"state": k, "kwh": v} for k, v in e.by_state_kwh.items() if v > 0])
        if not used.empty:
            left.altair_chart(
                charts.localized(charts.energy_by_state(used, labels, "kWh"), ctx.lang),
                width="stretch",
            )
    hours = max(1, (end - ctx.start) // 3_600_000)
    step = 3_600_000 if hours <= 48 else 86_400_000
    buckets = []
    for b_start in range(ctx.start, end, step):
        b = data.oee(
            ctx.store_url,
            str(ctx.config_path),
            machine,
            b_start,
            min(b_start + step, end),
            ctx.now,
            ctx.threshold,
        )
        if b.energy is not None and b.energy.kwh_per_good is not None:
            buckets.append({"time": wall(b_start), "kwh_per_good": b.energy.kwh_per_good})
    if buckets:
        right.altair_chart(
            charts.localized(
                charts.per_good(pd.DataFrame(buckets), domain, ctx.t("kwh_per_good")), ctx.lang
            ),
            width="stretch",
        )

# Process values, each in its own chart on the same time axis
process = [
    s
    for s in data.signals(ctx.store_url, machine)
    if s not in TEXT_SIGNALS and s not in COUNTER_SIGNALS
]
if process:
    st.subheader(ctx.t("process_values"))
    for signal in process:
        pts, pvals = data.series(ctx.store_url, machine, signal, ctx.start, end)
        if pts:
            st.caption(ctx.signal(signal))
            df = pd.DataFrame({"time": local_series(ctx, pts), "value": pvals})
            st.altair_chart(charts.localized(charts.process(df, domain), ctx.lang), width="stretch")
