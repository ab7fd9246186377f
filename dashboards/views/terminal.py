"""Terminal: the tablet at one machine (`/terminal?machine=press-1`, #29). What the machine is
doing in words and colour, the order it makes; when it stands still, the site's reasons as big
buttons (the most used at this machine first), one tap stores the reason for that stop with who
entered it; when it runs again after an unexplained stop that counted as downtime, it asks; a
reason given this shift can be corrected; scrap found by a person; an order started with its
target and ended, good units against the target. Each entry is confirmed only once the store
holds it (an entry that fails says so and stores nothing). Viewers get nothing to enter; a
station (a PIN for one machine) gets that machine only."""

from __future__ import annotations

import streamlit as st

from fieldlab.dashboards import alert_answers, data, settings
from fieldlab.dashboards.auth import current_user
from fieldlab.dashboards.charts import STATE_COLORS
from fieldlab.dashboards.context import page_setup
from fieldlab.domain.states import STOP_STATES
from fieldlab.kpi.orders import TARGET_SIGNAL
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
if not user.may_enter_reasons():  # a viewer who typed the address, or a kiosk a viewer opened
    st.error(ctx.t("term.refused"))
    st.stop()
who = user.login or "terminal"
machines = ctx.machines()
machine = user.machine or settings.current().terminal or str(st.query_params.get("machine", ""))
if machine not in machines:
    st.subheader(ctx.t("term.pick"))
    for m in machines:
        if st.button(ctx.name(m), key=f"pick-{m}", use_container_width=True):
            st.query_params["machine"] = m
            st.rerun()
    st.stop()
st.header(ctx.name(machine))
if "term_saved" in st.session_state:  # at the top: seen where the tap was, whatever the scroll
    st.success(st.session_state.pop("term_saved"))

newest = [(ts, s, v) for ts, m, s, v in data.latest(ctx.store_url, machine) if m == machine]
latest = {s: v for _, s, v in newest}
state = str(latest.get("state", "offline"))
since = data.state_since(ctx.store_url, machine)
r = data.oee(
    ctx.store_url, str(ctx.config_path), machine, ctx.start, ctx.end, ctx.now, ctx.threshold
)
st.markdown(
    f"<div class='term-state' style='background:{STATE_COLORS.get(state, '#555')}'>"
    f"{ctx.state_line(state, since, ctx.current_reason(r, state))}</div>",
    unsafe_allow_html=True,
)


def stored(words: str) -> None:
    """Confirmed only now: the store has it."""
    st.session_state["term_saved"] = words
    st.rerun()


def reason_buttons(start: int, prefix: str) -> None:
    """The site's reasons as big buttons, the most used at this machine first, grouped by
    category; a tap stores the reason for the episode that began at ``start``."""
    used = data.reason_counts(ctx.store_url, machine)
    codes = sorted(ctx.site.reasons, key=lambda c: (-used.get(c, 0), ctx.reason(c)))
    groups: dict[str, list[str]] = {}
    for code in codes:
        groups.setdefault(ctx.site.reason_categories.get(code, ""), []).append(code)
    for category, group in sorted(groups.items(), key=lambda kv: kv[0] == ""):
        if category:
            st.caption(ctx.state(category))
        cols = st.columns(3)
        for k, code in enumerate(group):
            if cols[k % 3].button(
                ctx.reason(code), key=f"{prefix}-{code}", use_container_width=True
            ):
                try:
                    data.write_reason(ctx.store_url, machine, start, code, who)
                except (StoreError, OSError) as exc:
                    st.error(ctx.t("term.not_stored", why=exc))
                else:
                    stored(ctx.t("saved", reason=ctx.reason(code), start=ctx.when(start, "HH:mm")))


# The stop that needs a reason: the one going on, else the last one nobody explained that
# counted as downtime (a small stop is a performance loss nobody is asked about)
ep = r.episodes
open_stop = state in {s.value for s in STOP_STATES} and state != "offline"
last = len(ep.start) - 1
todo = [
    i
    for i in range(len(ep.start))
    if ep.category[i] != "offline"
    and (
        (open_stop and i == last)
        or (ep.reason[i] is None and not bool(ep.small[i]) and not (open_stop and i == last))
    )
]
if todo:
    i = todo[-1]
    given = ep.reason[i]
    when = ctx.when(int(ep.start[i]), "HH:mm")
    d = ctx.dur((int(ep.end[i]) - int(ep.start[i])) / 1000)
    if not (open_stop and i == last):
        st.subheader(ctx.t("term.why_was", when=when, d=d))
    elif given:
        st.subheader(ctx.t("term.why_else", when=when, d=d, reason=ctx.reason(given)))
    else:
        st.subheader(ctx.t("term.why", when=when, d=d))
    reason_buttons(int(ep.start[i]), "reason")

# A reason given this shift can be corrected (the last reason in an episode wins, §2)
shift_start = next(
    (
        s
        for _, _, s, e in data.shifts(str(ctx.config_path), ctx.now - 86_400_000, ctx.now + 1)
        if s <= ctx.now < e
    ),
    ctx.start,
)
explained = [i for i in range(len(ep.start)) if ep.reason[i] and int(ep.start[i]) >= shift_start]
if explained:
    with st.expander(ctx.t("term.correct")):
        pick = st.selectbox(
            ctx.t("term.which_stop"),
            list(reversed(explained)),
            format_func=lambda i: (
                f"{ctx.when(int(ep.start[i]), 'HH:mm')} · "
                f"{ctx.dur((int(ep.end[i]) - int(ep.start[i])) / 1000)} · "
                f"{ctx.reason(str(ep.reason[i]))}"
            ),
        )
        if pick is not None:
            reason_buttons(int(ep.start[pick]), f"fix-{pick}")

order, product = str(latest.get("order") or ""), str(latest.get("product") or "")
line = [ctx.t("term.order", order=order) if order else ctx.t("term.no_order")]
if product:
    line.append(product)
progress = None
if order:
    # the order's good units since it began (its whole life, domain.md §5), against its target
    began = max(ts for ts, s, _ in newest if s == "order")
    runs = data.orders(
        ctx.store_url, str(ctx.config_path), machine, began, ctx.now + 1, ctx.now, ctx.threshold
    )
    run = next((x for x in reversed(runs) if x.order == order), None)
    good = (run.result.good if run else None) or 0  # none counted yet: it has just begun
    if run and run.target:
        line.append(ctx.t("term.good_of", good=ctx.num(good), target=ctx.num(run.target)))
        progress = min(1.0, good / run.target) if good else 0.0
    else:
        line.append(f"{ctx.t('good')} {ctx.num(good)}")
else:
    line.append(f"{ctx.t('good')} {ctx.num(r.good)}")
st.markdown(f"<div class='term-order'>{' · '.join(line)}</div>", unsafe_allow_html=True)
if progress is not None:
    st.progress(progress)
alert_answers.show(ctx, user, machine, by=who)  # this machine's open alerts, answered here
# what the last shift left for this one (notes of the last 24 hours)
for note in data.notes(ctx.store_url, ctx.now - 86_400_000, machine):
    st.info(f"**{ctx.when(note.ts, 'EEE HH:mm')} · {note.by or '–'}**: {note.value}")

left, right = st.columns(2)
with left.form("scrap", clear_on_submit=True):
    st.subheader(ctx.t("term.scrap"))
    units = st.number_input(ctx.t("term.units"), min_value=1, max_value=100_000, step=1, value=None)
    why = st.selectbox(
        ctx.t("term.scrap_reason"),
        list(ctx.site.scrap_reasons),
        index=None,
        format_func=lambda c: ctx.site.scrap_reason_label(c, ctx.lang),
    )
    if st.form_submit_button(ctx.t("term.book_scrap"), use_container_width=True) and units:
        if why is None:
            st.warning(ctx.t("term.scrap_reason_first"))
        else:
            try:
                data.write_scrap(ctx.store_url, machine, int(units), why, who, ctx.now)
            except (StoreError, OSError) as exc:
                st.error(ctx.t("term.not_stored", why=exc))
            else:
                label = ctx.site.scrap_reason_label(why, ctx.lang)
                stored(ctx.t("term.scrap_saved", n=int(units), reason=label))
with right.form("order", clear_on_submit=True):
    st.subheader(ctx.t("term.orders"))
    number = st.text_input(ctx.t("term.order_number"), max_chars=40)
    products = list(ctx.site.machine(machine).products)
    chosen = st.selectbox(ctx.t("term.product"), products, index=None) if products else None
    target = st.number_input(
        ctx.t("term.target"), min_value=1, max_value=10_000_000, step=1, value=None
    )
    start, end = st.columns(2)
    if start.form_submit_button(ctx.t("term.start_order"), use_container_width=True):
        if not number.strip():
            st.warning(ctx.t("term.order_first"))
        else:
            try:
                if chosen:
                    data.write_manual(ctx.store_url, machine, "product", chosen, who, ctx.now)
                if target:
                    data.write_manual(
                        ctx.store_url, machine, TARGET_SIGNAL, int(target), who, ctx.now
                    )
                # the order last: a target or product that failed leaves no order behind
                data.write_manual(ctx.store_url, machine, "order", number.strip(), who, ctx.now)
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
