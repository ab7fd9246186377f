"""Stop reasons: the classic first digital step. Unexplained stops of the period, longest first;
an operator picks a reason from the site's list, and the Pareto shows it at once."""

from __future__ import annotations

from typing import NamedTuple

import pandas as pd
import streamlit as st

from fieldlab.dashboards import data
from fieldlab.dashboards.auth import current_user
from fieldlab.dashboards.context import page_setup


class Unexplained(NamedTuple):
    """A downtime episode nobody gave a reason for."""

    machine: str
    start_ms: int
    length_s: float
    category: str


ctx = page_setup("page.reasons")
user = current_user()
if not user.may_enter_reasons():  # also when a viewer asks for this page directly
    st.info(ctx.t("reasons.viewer"))
    st.stop()
machines = ctx.machines()
st.subheader(ctx.t("unexplained_stops"))
rows: list[Unexplained] = []
for m in machines:
    r = data.oee(ctx.store_url, str(ctx.config_path), m, ctx.start, ctx.end, ctx.now, ctx.threshold)
    ep = r.episodes
    for i in range(len(ep.category)):
        if ep.reason[i] is None and not ep.small[i]:
            rows.append(
                Unexplained(
                    m, int(ep.start[i]), (int(ep.end[i]) - int(ep.start[i])) / 1000, ep.category[i]
                )
            )
rows.sort(key=lambda x: -x.length_s)
if not rows:
    st.success(ctx.t("none_unexplained"))
else:
    table = pd.DataFrame(
        [
            {
                ctx.t("machine"): ctx.name(x.machine),
                ctx.t("start"): ctx.when(x.start_ms, "EEE d MMM HH:mm:ss"),
                ctx.t("length"): ctx.dur(x.length_s),
                ctx.t("category"): ctx.state(x.category),
            }
            for x in rows
        ]
    )
    st.dataframe(table, hide_index=True, width="stretch")
    with st.form("reason"):
        pick = st.selectbox(
            ctx.t("page.reasons"),
            range(len(rows)),
            key="episode",
            format_func=lambda i: (
                f"{ctx.name(rows[i].machine)} · "
                f"{ctx.when(rows[i].start_ms, 'EEE d MMM HH:mm')} · {ctx.dur(rows[i].length_s)}"
            ),
        )
        # nothing chosen until a person chooses: a pre-selected reason was one careless
        # click from being stored for a stop it does not explain
        reason = st.selectbox(
            ctx.t("choose_reason"),
            list(ctx.site.reasons),
            index=None,
            placeholder=ctx.t("choose_reason_placeholder"),
            key=f"reason_choice_{ctx.lang}",
            format_func=ctx.reason,
        )
        if st.form_submit_button(ctx.t("save")):
            if reason is None:
                st.warning(ctx.t("choose_reason_first"))
                st.stop()
            chosen = rows[pick]
            data.write_reason(ctx.store_url, chosen.machine, chosen.start_ms, reason, user.login)
            st.session_state["saved"] = ctx.t(
                "saved", reason=ctx.reason(reason), start=ctx.when(chosen.start_ms, "HH:mm")
            )
            st.rerun()
if "saved" in st.session_state:
    st.success(st.session_state.pop("saved"))

# the reasons people entered (the terminal's scrap, orders and notes are entries too)
entries = ctx.store.entries(limit=20, signal="reason")
if entries:
    st.subheader(ctx.t("recent_entries"))
    st.dataframe(
        pd.DataFrame(
            [
                {
                    ctx.t("machine"): ctx.name(e.machine),
                    ctx.t("start"): ctx.when(e.ts, "EEE d MMM HH:mm"),
                    ctx.t("reason"): ctx.reason(e.value),
                    ctx.t("entered_by"): e.by or "–",
                    ctx.t("entered"): ctx.when(e.entered, "EEE d MMM HH:mm"),
                }
                for e in entries
            ]
        ),
        hide_index=True,
        width="stretch",
    )
