"""Shifts: shift by shift and day by day, for one machine or all; download as CSV or Excel."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from fieldlab.dashboards import charts, data
from fieldlab.dashboards.context import page_setup
from fieldlab.dashboards.export import to_csv, to_xlsx

ctx = page_setup("page.shifts")
machines = ctx.machines()
choice = st.selectbox(
    ctx.t("machine"),
    ["*", *machines],
    key="shift_machine",
    format_func=lambda m: ctx.t("all_machines") if m == "*" else ctx.name(m),
)
selected = machines if choice == "*" else [choice]
end = min(ctx.end, ctx.now)


#: Columns that hold ratios (shown and exported as percentages) and hours; coverage (DOMAIN
#: §5) beside the figures, so a row observed for a third of its time says so.
COVERAGE = ctx.t("coverage")
A, P, Q = (ctx.t(f"letter.{k}") for k in ("availability", "performance", "quality"))
RATIOS = ("OEE", A, P, Q, COVERAGE)


def row(machine: str, label: str, key: str, start: int, stop: int) -> dict[str, object]:
    """Numbers, not text: the table, the chart and both exports format them each their way. A
    figure that does not exist is None (a blank cell, `–` on screen), never NaN or 0."""
    r = data.oee(ctx.store_url, str(ctx.config_path), machine, start, stop, ctx.now, ctx.threshold)
    return {
        ctx.t("machine"): ctx.name(machine),
        key: label,
        "OEE": r.oee,
        A: r.availability,
        P: r.performance,
        Q: r.quality,
        COVERAGE: r.coverage,
        f"{ctx.t('planned')} h": r.planned_s / 3600,
        f"{ctx.t('downtime')} h": None if r.no_data else r.downtime_s / 3600,
        # no good counter: every unit counts as good, as on the tile (quality_assumed_1)
        ctx.t("good"): r.good if r.good is not None else r.total,
        ctx.t("scrap"): r.scrap,
    }


def day_label(day: str) -> str:
    """`ma 2 mrt` / `Mon 2 Mar`: the shift's date as the reader writes it."""
    return ctx.when(int(pd.Timestamp(day, tz=ctx.tz).timestamp() * 1000), "EEE d MMM")


def shown(df: pd.DataFrame) -> pd.DataFrame:
    """The table as the reader reads it: 42,5 %, 7,25 h, 2.522."""
    out = df.copy()
    for col in df.columns:
        if col in RATIOS:
            out[col] = [ctx.pct(v) for v in df[col]]
        elif col.endswith(" h"):
            out[col] = [ctx.num(v, 2) for v in df[col]]
        elif pd.api.types.is_numeric_dtype(df[col]):
            out[col] = [ctx.num(v) for v in df[col]]
    return out


occurrences = [o for o in data.shifts(str(ctx.config_path), ctx.start, end) if o[2] < end]
by_shift = pd.DataFrame(
    [
        row(m, f"{day_label(d)} {ctx.shift(n)}", ctx.t("shift"), max(s, ctx.start), min(e, end))
        for (n, d, s, e) in occurrences
        for m in selected
    ]
)
days = sorted({o[1] for o in occurrences})
by_day = pd.DataFrame(
    [
        row(m, day_label(d), ctx.t("day"), max(s, ctx.start), min(e, end))
        for d in days
        for s, e in [
            (
                min(o[2] for o in occurrences if o[1] == d),
                max(o[3] for o in occurrences if o[1] == d),
            )
        ]
        for m in selected
    ]
)

for title, df, key in (
    (ctx.t("by_shift"), by_shift, ctx.t("shift")),
    (ctx.t("by_day"), by_day, ctx.t("day")),
):
    st.subheader(title)
    if df.empty:
        st.caption("–")
        continue
    chart = (
        alt.Chart(df)
        .mark_bar()
        .encode(
            x=alt.X(f"{key}:N", title=None, sort=None),
            y=alt.Y("OEE:Q", axis=alt.Axis(format=".0%"), title="OEE"),
            color=f"{ctx.t('machine')}:N",
            xOffset=f"{ctx.t('machine')}:N",
            tooltip=[
                alt.Tooltip(c, format=".1%") if c in RATIOS else alt.Tooltip(c) for c in df.columns
            ],
        )
        .properties(height=240)
    )
    st.altair_chart(charts.localized(chart, ctx.lang), width="stretch")
    st.dataframe(shown(df), hide_index=True, width="stretch")
    if ((df[COVERAGE].astype(float) < 0.95) | df[COVERAGE].isna()).any():
        st.caption(ctx.t("coverage.note"))
    c1, c2 = st.columns(2)
    c1.download_button(
        ctx.t("download_csv"),
        to_csv(df, ctx.lang, percent=RATIOS),
        f"fieldlab-{key}.csv",
        "text/csv",
        key=f"csv-{key}",
    )
    c2.download_button(
        ctx.t("download_xlsx"),
        to_xlsx(df, percent=RATIOS),
        f"fieldlab-{key}.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key=f"xlsx-{key}",
    )
