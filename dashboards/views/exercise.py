"""Exercise: a participant answers the recipe's questions while it runs, one at a time and at
their own pace, once the simulated clock has reached each question's moment. Feedback at once
(right, close, wrong), the hint after a first miss, the explanation when it is right or after
three tries. Every attempt is stored, so a reload (the name is in the address) loses nothing."""

from __future__ import annotations

import time
from functools import partial

import streamlit as st

from fieldlab.dashboards import data
from fieldlab.dashboards.auth import current_user
from fieldlab.dashboards.context import page_setup
from fieldlab.domain.learning import Attempt
from fieldlab.learning.grade import MAX_ATTEMPTS, Unreadable, grade
from fieldlab.learning.progress import state

ctx = page_setup("page.exercise")
ex = data.exercise()
if ex is None:
    st.info(ctx.t("ex.none"))
    st.stop()
st.subheader(ex.title[ctx.lang])
st.caption(ex.goal[ctx.lang])

user = current_user()
# with a login on, the logged-in person answers (an operator's account); without, a name
name = user.name or user.login if user.login else str(st.query_params.get("p", "")).strip()
if not name and not user.login and st.session_state.get("participant"):
    # back from another page of the menu (which drops the address's ?p=): still the same person
    name = st.session_state["participant"]
    st.query_params["p"] = name
if name and not user.login:
    st.session_state["participant"] = name
if not name:
    with st.form("name"):
        typed = st.text_input(ctx.t("ex.name"), help=ctx.t("ex.name_help"), max_chars=60)
        if st.form_submit_button(ctx.t("ex.start")) and typed.strip():
            st.query_params["p"] = typed.strip()
            st.rerun()
    st.stop()
left, right = st.columns([4, 1])
left.markdown(ctx.t("ex.hello", name=name))
if not user.login and right.button(ctx.t("ex.other_name")):
    del st.query_params["p"]
    st.session_state.pop("participant", None)
    st.rerun()

mine = [a for a in data.attempts(ctx.store_url, ex.run) if a.participant == name]
verdict_words = {"right": ctx.t("ex.right"), "wrong": ctx.t("ex.wrong")}
waiting = False
for n, q in enumerate(ex.questions, start=1):
    if not ex.is_open(q, ctx.now):
        st.info(ctx.t("ex.opens", when=ctx.when(q.opens_ms, "HH:mm")))
        waiting = True
        break
    s = state(ex, mine, name, q.id)
    with st.container(border=True, key=f"question-{q.id}"):
        st.markdown(f"**{ctx.t('ex.question', n=n)}** · {q.ask[ctx.lang]}")
        last = s.attempts[-1] if s.attempts else None
        if last is not None:
            said = q.written(last.given, ctx.lang, ex.tz) if q.form == "choice" else last.given
            show = {"right": st.success, "close": st.warning, "wrong": st.error}[last.verdict]
            words = (
                ctx.t("ex.close", margin=q.margin(ctx.lang))
                if last.verdict == "close"
                else verdict_words[last.verdict]
            )
            show(f"{words} {ctx.t('ex.you_said', given=said)}")
        if s.finished:
            st.markdown(f"**{ctx.t('ex.explain')}**: {q.explanation(ctx.lang, ex.tz)}")
            continue
        if s.hint_due:
            st.info(f"**{ctx.t('ex.hint')}**: {q.hint[ctx.lang]}")
            st.caption(ctx.t("ex.attempts_left", n=MAX_ATTEMPTS - len(s.attempts)))
        if ex.self_paced:
            st.caption(ctx.t("ex.waiting"))
        with st.form(f"form-{q.id}", clear_on_submit=True):
            if q.form == "choice":
                given = st.radio(
                    ctx.t("ex.answer"),
                    [c.code for c in q.choices],
                    format_func=partial(q.label, lang=ctx.lang),
                    index=None,
                )
            else:
                given = st.text_input(ctx.t("ex.answer"), placeholder=ctx.t(f"ex.form.{q.form}"))
                if q.margin(ctx.lang):
                    st.caption(ctx.t("ex.margin", margin=q.margin(ctx.lang)))
            sent = st.form_submit_button(ctx.t("ex.send"))
        if sent and given:
            try:
                verdict = grade(q.form, q.answer, str(given), q.tolerance, ex.tz)
            except Unreadable:
                st.error(ctx.t("ex.unreadable", form=ctx.t(f"ex.form.{q.form}")))
            else:
                data.write_attempt(
                    ctx.store_url,
                    Attempt(data.wall_ms(), ex.run, name, q.id, str(given), verdict, s.hint_due),
                )
                st.rerun()
    break  # one question at a time: the next shows once this one is done
else:
    right_count = sum(state(ex, mine, name, q.id).solved for q in ex.questions)
    st.success(ctx.t("ex.done", right=right_count, n=len(ex.questions)))
    for q in ex.questions:
        st.markdown(f"- {q.explanation(ctx.lang, ex.tz)}")

if waiting:  # look at the clock again until the next question opens
    time.sleep(3)
    st.rerun()
