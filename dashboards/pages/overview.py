"""Overview (andon): a tile per machine, state in its colour, OEE of the current period."""

from __future__ import annotations

import streamlit as st

from fieldlab.dashboards import data
from fieldlab.dashboards.charts import STATE_COLORS
from fieldlab.dashboards.context import Context, page_setup


def tile(ctx: Context, machine: str) -> None:
    r = data.oee(
        ctx.store_url, str(ctx.config_path), machine, ctx.start, ctx.end, ctx.now, ctx.threshold
    )
    latest = {sig: (ts, v) for ts, _, sig, v in data.latest(ctx.store_url, machine)}
    state_ts, state = latest.get("state", (None, "offline"))
    name = ctx.site.machine(machine).name or machine
    color = STATE_COLORS.get(str(state), "#424242")
    with st.container(border=True):
        st.markdown(f"**{machine}** · {name}")
        st.markdown(
            f"<div style='background:{color};color:white;padding:4px 8px;border-radius:4px'>"
            f"{ctx.state_line(str(state), state_ts, latest.get('reason', (None, ''))[1])}</div>",
            unsafe_allow_html=True,
        )
        st.metric("OEE", ctx.pct(r.oee))
        st.markdown(
            f"A **{ctx.pct(r.availability)}** · P **{ctx.pct(r.performance)}** · "
            f"Q **{ctx.pct(r.quality)}**"
        )
        for note in ctx.notes(r):
            st.caption(f"⚠ {note}")
        ict = ctx.site.machine(machine).ideal_cycle_time_s
        target = int(r.planned_s / ict) if ict else 0
        # no good counter: every unit counts as good (the quality_assumed_1 note says so)
        good = r.good if r.good is not None else r.total
        st.caption(ctx.t("target_now", good=good or 0, target=target))


ctx = page_setup("page.overview")
machines = ctx.machines()
if not machines:
    st.info(ctx.t("empty_store"))
    st.stop()


@st.fragment(run_every="5s")
def tiles() -> None:
    ctx.now = data.newest(ctx.store_url)  # live: each refresh looks at the store again
    cols = st.columns(3)
    for i, m in enumerate(machines):
        with cols[i % 3]:
            tile(ctx, m)


tiles()
