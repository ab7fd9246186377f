"""Overview: a tile per machine, state in its colour, OEE of the current period."""

from __future__ import annotations

import streamlit as st

from fieldlab.dashboards import data
from fieldlab.dashboards.context import Context, page_setup
from fieldlab.dashboards.tiles import tile


def draw(ctx: Context, machine: str) -> None:
    v = tile(ctx, machine)
    with st.container(border=True):
        st.markdown(f"**{v.machine}** · {v.name}")
        st.markdown(
            f"<div style='background:{v.color};color:white;padding:4px 8px;border-radius:4px'>"
            f"{v.state_line}</div>",
            unsafe_allow_html=True,
        )
        st.metric("OEE", v.oee)
        st.markdown(f"A **{v.availability}** · P **{v.performance}** · Q **{v.quality}**")
        for note in v.notes:
            st.caption(f"⚠ {note}")
        st.caption(v.progress)


ctx = page_setup("page.overview")
machines = ctx.machines()


@st.fragment(run_every="5s")
def tiles() -> None:
    ctx.now = data.newest(ctx.store_url)  # live: each refresh looks at the store again
    results = [
        data.oee(ctx.store_url, str(ctx.config_path), m, ctx.start, ctx.end, ctx.now, ctx.threshold)
        for m in machines
    ]
    metered = [r.energy for r in results if r.energy is not None]
    if metered:  # the site total of the machines that have an energy signal
        total = ctx.t("site_energy", kwh=ctx.num(sum(e.kwh for e in metered), 1))
        costs = [e.cost for e in metered if e.cost is not None]
        if costs:
            total += f" · {ctx.num(sum(costs), 2)} {metered[0].currency}"
        st.caption(f"⚡ {total}")
    cols = st.columns(3)
    for i, m in enumerate(machines):
        with cols[i % 3]:
            draw(ctx, m)


tiles()
