"""Overview (andon): a tile per machine, state in its colour, OEE of the current period."""

from __future__ import annotations

import streamlit as st

from fieldlab.dashboards import data
from fieldlab.dashboards.charts import STATE_COLORS
from fieldlab.dashboards.context import Context, page_setup
from fieldlab.kpi.oee import OeeResult
from fieldlab.kpi.report import duration, flag_text, percent


def gap_note(ctx: Context, r: OeeResult) -> None:
    """Say why figures may mislead: time not observed, units counted after a gap."""
    cov = r.coverage
    if cov is not None and cov < 0.9995:
        st.caption(f"{ctx.t('coverage')} {percent(cov)} · {ctx.t('coverage.help')}")
    for f in r.flags:
        if f in ("counts_across_gap", "performance_above_1"):
            st.caption(f"⚠ {flag_text(f, ctx.lang)}")


def tile(ctx: Context, machine: str) -> None:
    r = data.oee(
        ctx.store_url, str(ctx.config_path), machine, ctx.start, ctx.end, ctx.now, ctx.threshold
    )
    latest = {sig: (ts, v) for ts, _, sig, v in data.latest(ctx.store_url, machine)}
    state_ts, state = latest.get("state", (None, "offline"))
    reason = latest.get("reason", (None, ""))[1] if state not in ("running", "planned_stop") else ""
    name = ctx.site.machine(machine).name or machine
    since = duration((ctx.now - state_ts) / 1000) if state_ts else "–"
    color = STATE_COLORS.get(str(state), "#424242")
    with st.container(border=True):
        st.markdown(f"**{machine}** · {name}")
        st.markdown(
            f"<div style='background:{color};color:white;padding:4px 8px;border-radius:4px'>"
            f"{ctx.t('state.' + str(state)) if str(state) in STATE_COLORS else state}"
            f"{' · ' + str(reason) if reason else ''} · {ctx.t('in_state_for', d=since)}</div>",
            unsafe_allow_html=True,
        )
        st.metric("OEE", percent(r.oee))
        st.markdown(
            f"A **{percent(r.availability)}** · P **{percent(r.performance)}** · "
            f"Q **{percent(r.quality)}**"
        )
        gap_note(ctx, r)
        ict = ctx.site.machine(machine).ideal_cycle_time_s
        target = int(r.planned_s / ict) if ict else 0
        st.caption(ctx.t("target_now", good=r.good or 0, target=target))


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
