"""Open alerts with what people answered, and the buttons to answer them (#29): acknowledge
with an optional note (the alert is not repeated), or shelve it for a while (silent until then);
the clear is always sent. On the overview, the andon and a machine's terminal; who may not
enter anything (a viewer) reads the answers and gets no buttons."""

from __future__ import annotations

import html

import streamlit as st

from fieldlab.alerts.text import what
from fieldlab.dashboards import data
from fieldlab.dashboards.auth import User
from fieldlab.dashboards.context import Context
from fieldlab.domain.alerts import AlertEvent
from fieldlab.domain.answers import AlertAnswer
from fieldlab.store import StoreError

#: how far back to look for alerts that are still open
LOOKBACK_MS = 7 * 86_400_000
#: the shelf's choices, minutes (0: acknowledge only)
SHELF_MIN = (0, 15, 60, 240)


def open_alerts(ctx: Context, machine: str | None = None) -> list[AlertEvent]:
    """Fired and not cleared by the end of the page's period, the latest event of each firing
    (oldest firing first), looked for from a week before the period."""
    recent = data.alerts(ctx.store_url, ctx.start - LOOKBACK_MS, min(ctx.end, ctx.now + 1))
    cleared = {(e.rule, e.subject, e.since) for e in recent if e.event == "cleared"}
    out: dict[tuple[str, str, int], AlertEvent] = {}
    for e in recent:
        key = (e.rule, e.subject, e.since)
        if e.event != "cleared" and key not in cleared and machine in (None, e.subject):
            out[key] = e
    return list(out.values())


def answer_for(ctx: Context, e: AlertEvent) -> AlertAnswer | None:
    """The answer that holds for this firing: its acknowledgement, or a shelf not yet over."""
    a = data.answers(ctx.store_url).get((e.rule, e.subject))
    if a is None:
        return None
    shelved = a.shelved_until is not None and a.shelved_until > ctx.now
    return a if shelved or (a.since == e.since and a.shelved_until is None) else None


def answered_text(ctx: Context, a: AlertAnswer) -> str:
    said = f": {a.note}" if a.note else ""
    if a.shelved_until is not None:
        return ctx.t("answer.shelved", by=a.by or "–", until=ctx.when(a.shelved_until, "HH:mm"))
    return ctx.t("answer.acked", by=a.by or "–", at=ctx.when(a.at, "HH:mm")) + said


#: the andon's row per open alert, in px: the grid of tiles gives up this much of the screen
ANDON_ROW_PX = 56
#: at most this many alert rows on the andon (the rest: "+N")
ANDON_ROWS = 2


def andon_rows(ctx: Context, user: User) -> int:
    """The andon's open alerts nobody answered, one row each (text and a button), above the
    tiles; returns the rows drawn, so the tiles make room for them."""
    names = {m: ctx.name(m) for m in ctx.machines()}
    loud = [e for e in open_alerts(ctx) if answer_for(ctx, e) is None]
    for k, e in enumerate(loud[:ANDON_ROWS]):
        more = (
            f" (+{len(loud) - ANDON_ROWS})"
            if k == ANDON_ROWS - 1 and len(loud) > ANDON_ROWS
            else ""
        )
        text, button = st.columns([6, 1], vertical_alignment="center")
        text.markdown(
            f"<div class='andon-alert'>🔔 {html.escape(names.get(e.subject, e.subject))}: "
            f"{html.escape(what(e, ctx.site, ctx.lang))} · "
            f"{html.escape(ctx.t('alerts_since', since=ctx.when(e.since, 'HH:mm')))}{more}</div>",
            unsafe_allow_html=True,
        )
        if user.may_enter_reasons() and button.button(
            ctx.t("answer.ack"), key=f"andon-{e.rule}-{e.subject}-{e.since}"
        ):
            _store(ctx, user.login, e, "", 0)
    return min(len(loud), ANDON_ROWS)


def show(
    ctx: Context,
    user: User,
    machine: str | None = None,
    by: str | None = None,
) -> None:
    """Each open alert, loud until answered; the form to answer where the user may (``by``:
    who answers, where it is not the login: the terminal's name for itself)."""
    who = by if by is not None else user.login
    if "answer_saved" in st.session_state:
        st.success(st.session_state.pop("answer_saved"))
    names = {m: ctx.name(m) for m in ctx.machines()}
    for e in open_alerts(ctx, machine):
        a = answer_for(ctx, e)
        line = (
            f"🔔 {names.get(e.subject, e.subject)}: {what(e, ctx.site, ctx.lang)} · "
            f"{ctx.t('alerts_since', since=ctx.when(e.since, 'HH:mm'))} · {e.rule}"
        )
        if a is not None:
            st.info(f"{line} · {answered_text(ctx, a)}")
            continue
        st.warning(line)
        if not user.may_enter_reasons() or (user.machine and user.machine != e.subject):
            continue
        key = f"answer-{e.rule}-{e.subject}-{e.since}"
        with st.form(key, clear_on_submit=True):
            note = st.text_input(ctx.t("answer.note"), max_chars=200)
            left, right = st.columns(2)
            acked = left.form_submit_button(ctx.t("answer.ack"), use_container_width=True)
            minutes = right.selectbox(
                ctx.t("answer.shelf"),
                SHELF_MIN[1:],
                format_func=lambda m: (
                    ctx.t("answer.minutes", n=m) if m < 60 else ctx.t("answer.hours", n=m // 60)
                ),
            )
            shelved = right.form_submit_button(ctx.t("answer.shelve"), use_container_width=True)
        if acked or shelved:
            _store(ctx, who, e, note.strip(), int(minutes or 0) if shelved else 0)


def _store(ctx: Context, by: str, e: AlertEvent, note: str, shelf_min: int) -> None:
    """Confirmed only once the store holds it; a failure says so and keeps the alert loud."""
    answer = AlertAnswer(
        e.rule,
        e.subject,
        e.since,
        by,
        ctx.now,
        note,
        ctx.now + shelf_min * 60_000 if shelf_min else None,
    )
    try:
        data.write_answer(ctx.store_url, answer)
    except (StoreError, OSError) as exc:
        st.error(ctx.t("term.not_stored", why=exc))
        return
    st.session_state["answer_saved"] = answered_text(ctx, answer)
    st.rerun()
