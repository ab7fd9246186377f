"""Shifts: shift by shift and day by day, for one machine or all; download as CSV or Excel."""

from __future__ import annotations

import io

import altair as alt
import pandas as pd
import streamlit as st

from fieldlab.dashboards import data
from fieldlab.dashboards.context import page_setup

ctx = page_setup("page.shifts")
machines = ctx.machines()
if not machines:
    st.info(ctx.t("empty_store"))
    st.stop()
choice = st.selectbox(
    ctx.t("machine"),
    ["*", *machines],
    key="shift_machine",
    format_func=lambda m: ctx.t("all_machines") if m == "*" else m,
)
selected = machines if choice == "*" else [choice]
end = min(ctx.end, ctx.now)


def pct(x: float | None) -> float | None:
    return None if x is None else round(100 * x, 1)


def row(machine: str, label: str, key: str, start: int, stop: int) -> dict[str, object]:
    r = data.oee(ctx.store_url, str(ctx.config_path), machine, start, stop, ctx.now, ctx.threshold)
    return {
        ctx.t("machine"): machine,
        key: label,
        "OEE %": pct(r.oee),
        "A %": pct(r.availability),
        "P %": pct(r.performance),
        "Q %": pct(r.quality),
        f"{ctx.t('planned')} h": round(r.planned_s / 3600, 2),
        f"{ctx.t('downtime')} h": round(r.downtime_s / 3600, 2),
        ctx.t("good"): r.good,
        ctx.t("scrap"): r.scrap,
    }


occurrences = [o for o in data.shifts(str(ctx.config_path), ctx.start, end) if o[2] < end]
by_shift = pd.DataFrame(
    [
        row(m, f"{d} {n}", ctx.t("shift"), max(s, ctx.start), min(e, end))
        for (n, d, s, e) in occurrences
        for m in selected
    ]
)
days = sorted({o[1] for o in occurrences})
by_day = pd.DataFrame(
    [
        row(m, d, ctx.t("day"), max(s, ctx.start), min(e, end))
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
    st.altair_chart(
        alt.Chart(df)
        .mark_bar()
        .encode(
            x=alt.X(f"{key}:N", title=None),
            y=alt.Y("OEE %:Q"),
            color=f"{ctx.t('machine')}:N",
            xOffset=f"{ctx.t('machine')}:N",
            tooltip=list(df.columns),
        )
        .properties(height=240),
        width="stretch",
    )
    st.dataframe(df, hide_index=True, width="stretch")
    c1, c2 = st.columns(2)
    c1.download_button(
        ctx.t("download_csv"),
        df.to_csv(index=False).encode(),
        f"fieldlab-{key}.csv",
        "text/csv",
        key=f"csv-{key}",
    )
    buf = io.BytesIO()
    df.to_excel(buf, index=False)
    c2.download_button(
        ctx.t("download_xlsx"),
        buf.getvalue(),
        f"fieldlab-{key}.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key=f"xlsx-{key}",
    )
