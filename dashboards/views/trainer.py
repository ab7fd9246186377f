"""Trainer: every participant's progress, live (answered, right at the first try, hints used),
the questions most got wrong, an export in the reader's spreadsheet convention and a printable
summary per participant. Behind the trainer code `fieldlab recipe run` prints, so a
participant's laptop does not show the others' answers."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from fieldlab.dashboards import data, settings
from fieldlab.dashboards.context import page_setup
from fieldlab.dashboards.export import to_csv, to_xlsx
from fieldlab.learning.exercise import Exercise
from fieldlab.learning.progress import by_participant, by_question, rows, summary_html

ctx = page_setup("page.trainer")
ex = data.exercise()
if ex is None:
    st.info(ctx.t("ex.none"))
    st.stop()
code = settings.current().trainer_code
if code and st.session_state.get("trainer_code") != code:
    typed = st.text_input(ctx.t("tr.code"), type="password", help=ctx.t("tr.code_help"))
    if typed.strip() != code:
        st.stop()
    st.session_state["trainer_code"] = code
    st.rerun()
st.subheader(ex.title[ctx.lang])


def marks(ex: Exercise, states: dict) -> dict[str, str]:
    """✓ right at once, ✓· right after a miss, ✗ tried and not right, … not yet."""
    out = {}
    for n, q in enumerate(ex.questions, start=1):
        s = states[q.id]
        out[f"{n}"] = "✓" if s.right_first else "✓·" if s.solved else "✗" if s.attempts else "…"
    return out


@st.fragment(run_every=3)
def live(ex: Exercise) -> None:
    people = by_participant(ex, data.attempts(ctx.store_url, ex.run))
    if not people:
        st.info(ctx.t("tr.none_yet"))
        return
    n = len(ex.questions)
    table = pd.DataFrame(
        [
            {
                ctx.t("tr.participant"): p.participant,
                ctx.t("tr.answered"): f"{p.answered} / {n}",
                ctx.t("tr.right_first"): p.right_first,
                ctx.t("tr.solved"): p.solved,
                ctx.t("tr.hints"): p.hints,
                **marks(ex, p.questions),
            }
            for p in people.values()
        ]
    )
    # a table, not a canvas grid: it prints, and a screen reader reads it
    st.table(table.set_index(ctx.t("tr.participant")))
    st.markdown(f"**{ctx.t('tr.hardest')}**")
    st.table(
        pd.DataFrame(
            [
                {
                    "#": ex.questions.index(ex.question(s.question)) + 1,
                    ctx.t("tr.question"): ex.question(s.question).ask[ctx.lang],
                    ctx.t("tr.not_first"): s.wrong_first,
                    ctx.t("tr.answered"): s.answered,
                }
                for s in by_question(ex, people)
                if s.answered
            ]
        ).set_index("#")
    )
    export = pd.DataFrame(rows(ex, people, ctx.lang))
    a, b = st.columns(2)
    a.download_button(
        "CSV", to_csv(export, ctx.lang), f"{ex.recipe}-answers.csv", "text/csv", key="csv"
    )
    b.download_button(
        "Excel",
        to_xlsx(export),
        f"{ex.recipe}-answers.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key="xlsx",
    )
    st.markdown(f"**{ctx.t('tr.summary')}**")
    who = st.selectbox(ctx.t("tr.participant"), list(people), key="who")
    if who:
        page = summary_html(ex, people[who], ctx.lang)
        st.download_button(
            ctx.t("tr.print"), page.encode(), f"{ex.recipe}-{who}.html", "text/html", key="html"
        )


live(ex)
