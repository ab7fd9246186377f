"""Terminal: the tablet at one machine (`/terminal?machine=press-1`, #29). What the machine is
doing in words and colour, the order it makes; when it stands still, the site's reasons as big
buttons (the most used at this machine first), one tap stores the reason for that stop with who
entered it; scrap found by a person; an order started and ended. Each entry is confirmed only
once the store holds it (an entry that fails says so and stores nothing)."""

from __future__ import annotations

import collections
import os

import streamlit as st

from fieldlab.dashboards import data
from fieldlab.dashboards.auth import current_user
from fieldlab.dashboards.charts import STATE_COLORS
from fieldlab.dashboards.context import page_setup
from fieldlab.domain.states import STOP_STATES
from fieldlab.store import StoreError

#: touch targets of at least 48 px (a finger, not a mouse), text readable at arm's length
CSS = """
<style>
div[data-testid="stButton"] button { min-height: 64px; font-size: 1.25rem; }
.term-state { border-radius: 12px; color: white; padding: 14px 18px; font-size: 1.6rem;
  font-weight: 700; }
.term-order { font-size: 1.3rem; padding: 8px 2px; }
</style>
"""

ctx = page_setup("page.terminal")
st.markdown(CSS, unsafe_allow_html=True)
user = current_user()
who = user.login or "terminal"
machines = ctx.machines()
machine = os.environ.get("FIELDLAB_TERMINAL") or str(st.query_params.get("machine", ""))
if machine not in machines:
    st.subheader(ctx.t("term.pick"))
    for m in machines:
        if st.button(ctx.name(m), key=f"pick-{m}", use_container_width=True):
            st.query_params["machine"] = m
            st.rerun()
    st.stop()
st.header(ctx.name(machine))

latest = {s: v for _, m, s, v in data.latest(ctx.store_url, machine) if m == machine}
state = str(latest.get("state", "offline"))
since = data.state_since(ctx.store_url, machine)
st.markdown(
    f"<div class='term-state' style='background:{STATE_COLORS.get(state, '#555')}'>"
    f"{ctx.state_line(state, since, latest.get('reason'))}</div>",
    unsafe_allow_html=True,
)
# what the last shift left for this one (notes of the last 24 hours)
for note in data.notes(ctx.store_url, ctx.now - 86_400_000, machine):
    st.info(f"**{ctx.when(note.ts, 'EEE HH:mm')} · {note.by or '–'}**: {note.value}")
order, product = latest.get("order") or "", latest.get("product") or ""
r = data.oee(
    ctx.store_url, str(ctx.config_path), machine, ctx.start, ctx.end, ctx.now, ctx.threshold
)
st.markdown(
    "<div class='term-order'>"
    + (ctx.t("term.order", order=order) if order else ctx.t("term.no_order"))
    + (f" · {product}" if product else "")
    + f" · {ctx.t('good')} {ctx.num(r.good)}</div>",
    unsafe_allow_html=True,
)


def stored(words: str) -> None:
    """Confirmed only now: the store has it."""
    st.session_state["term_saved"] = words
    st.rerun()


# The stop that needs a reason: the one going on, else the last one nobody explained
ep = r.episodes
open_stop = state in {s.value for s in STOP_STATES} and state != "offline"
todo = [
    i
    for i in range(len(ep.start))
    if ep.category[i] != "offline"
    and (ep.reason[i] is None or (open_stop and i == len(ep.start) - 1))
]
if todo:
    i = todo[-1]
    st.subheader(
        ctx.t(
            "term.why",
            when=ctx.when(int(ep.start[i]), "HH:mm"),
            d=ctx.dur((int(ep.end[i]) - int(ep.start[i])) / 1000),
        )
    )
    used = collections.Counter(
        e.value for e in ctx.store.entries(limit=500) if e.machine == machine
    )
    codes = sorted(ctx.site.reasons, key=lambda c: (-used[c], ctx.reason(c)))
    groups: dict[str, list[str]] = {}
    for code in codes:
        category = ctx.site.reason_categories.get(code, "")
        groups.setdefault(category, []).append(code)
    for category, group in sorted(groups.items(), key=lambda kv: kv[0] == ""):
        if category:
            st.caption(ctx.state(category))
        cols = st.columns(3)
        for k, code in enumerate(group):
            if cols[k % 3].button(ctx.reason(code), key=f"reason-{code}", use_container_width=True):
                try:
                    data.write_reason(ctx.store_url, machine, int(ep.start[i]), code, who)
                except (StoreError, OSError) as exc:
                    st.error(ctx.t("term.not_stored", why=exc))
                else:
                    stored(
                        ctx.t(
                            "saved",
                            reason=ctx.reason(code),
                            start=ctx.when(int(ep.start[i]), "HH:mm"),
                        )
                    )

left, right = st.columns(2)
with left.form("scrap", clear_on_submit=True):
    st.subheader(ctx.t("term.scrap"))
    units = st.number_input(ctx.t("term.units"), min_value=1, max_value=100_000, step=1, value=None)
    if st.form_submit_button(ctx.t("term.book_scrap"), use_container_width=True) and units:
        try:
            data.write_manual(ctx.store_url, machine, "scrap_entry", int(units), who, ctx.now)
        except (StoreError, OSError) as exc:
            st.error(ctx.t("term.not_stored", why=exc))
        else:
            stored(ctx.t("term.scrap_saved", n=int(units)))
with right.form("order", clear_on_submit=True):
    st.subheader(ctx.t("term.orders"))
    number = st.text_input(ctx.t("term.order_number"), max_chars=40)
    products = list(ctx.site.machine(machine).products)
    chosen = st.selectbox(ctx.t("term.product"), products, index=None) if products else None
    start, end = st.columns(2)
    if start.form_submit_button(ctx.t("term.start_order"), use_container_width=True):
        if not number.strip():
            st.warning(ctx.t("term.order_first"))
        else:
            try:
                data.write_manual(ctx.store_url, machine, "order", number.strip(), who, ctx.now)
                if chosen:
                    data.write_manual(ctx.store_url, machine, "product", chosen, who, ctx.now)
            except (StoreError, OSError) as exc:
                st.error(ctx.t("term.not_stored", why=exc))
            else:
                stored(ctx.t("term.order_started", order=number.strip()))
    if end.form_submit_button(ctx.t("term.end_order"), use_container_width=True) and order:
        try:
            data.write_manual(ctx.store_url, machine, "order", "", who, ctx.now)
        except (StoreError, OSError) as exc:
            st.error(ctx.t("term.not_stored", why=exc))
        else:
            stored(ctx.t("term.order_ended", order=order))
with st.form("handover", clear_on_submit=True):
    st.subheader(ctx.t("term.handover"))
    text = st.text_area(ctx.t("term.handover_help"), max_chars=500)
    if st.form_submit_button(ctx.t("term.save_note"), use_container_width=True) and text.strip():
        try:
            data.write_note(ctx.store_url, machine, text.strip(), who, ctx.now)
        except (StoreError, OSError) as exc:
            st.error(ctx.t("term.not_stored", why=exc))
        else:
            stored(ctx.t("term.note_saved"))
if "term_saved" in st.session_state:
    st.success(st.session_state.pop("term_saved"))
