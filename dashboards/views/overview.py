"""Overview: a tile per machine, state in its colour, OEE of the current period."""

from __future__ import annotations

import streamlit as st

from fieldlab.alerts.text import what
from fieldlab.dashboards import alert_answers, data
from fieldlab.dashboards.auth import current_user
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
        if v.coverage:
            st.caption(v.coverage)
        a, p, q = (ctx.t(f"letter.{k}") for k in ("availability", "performance", "quality"))
        st.markdown(f"{a} **{v.availability}** · {p} **{v.performance}** · {q} **{v.quality}**")
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
    show_alerts()
    show_notes(machines)
    # row by row, as the andon and as a narrow screen stacks them (columns of tiles stacked
    # column after column had put machine 4 under machine 1 on a phone)
    for row in range(0, len(machines), 3):
        cols = st.columns(3)
        for col, m in zip(cols, machines[row : row + 3], strict=False):
            with col:
                draw(ctx, m)


def show_notes(machines: list[str]) -> None:
    """What the last shift left at the machines' terminals (handover notes, last 24 hours)."""
    found = data.notes(ctx.store_url, ctx.now - 86_400_000)
    if found:
        with st.expander(ctx.t("handover.title", n=len(found)), expanded=True):
            for note in found:
                where = ctx.name(note.machine) if note.machine in machines else note.machine
                st.markdown(
                    f"**{where}** · {ctx.when(note.ts, 'EEE HH:mm')} · {note.by or '–'}: "
                    f"{note.value}"
                )


def show_alerts() -> None:
    """Open alerts (fired, not cleared) first and loud until someone answers them, whenever
    they fired (a breakdown at 23:30 is still loud at 00:30, when "today" began half an hour
    ago); the period's events below."""
    alert_answers.show(ctx, current_user())
    end = min(ctx.end, ctx.now + 1)
    events = data.alerts(ctx.store_url, ctx.start, end)
    name = {m: ctx.site.machine(m).label(ctx.lang, m) for m in machines}
    if not events:
        return
    with st.expander(ctx.t("alerts_recent", n=len(events))):
        st.dataframe(
            [
                {
                    ctx.t("report.when"): ctx.when(e.ts, "EEE HH:mm"),
                    ctx.t("machine"): name.get(e.subject, e.subject),
                    ctx.t("report.what"): what(e, ctx.site, ctx.lang),
                    ctx.t("alerts_event"): ctx.t(f"alerts_event.{e.event}"),
                }
                for e in reversed(events)
            ],
            hide_index=True,
        )


tiles()
