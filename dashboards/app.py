"""fieldlab dashboard: a Streamlit multipage app over the store (`fieldlab dashboard`)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from fieldlab.dashboards import settings
from fieldlab.dashboards.auth import gate
from fieldlab.dashboards.context import reader_lang
from fieldlab.i18n import t

lang = reader_lang()
# Not `pages/`: Streamlit would serve a folder of that name page by page, past the login.
here = Path(__file__).parent / "views"
andon = st.Page(here / "andon.py", title=t("page.andon", lang), url_path="andon")
started = settings.current()
andon_only = started.andon
st.set_page_config(
    page_title="fieldlab andon" if andon_only else "fieldlab OEE",
    page_icon="🏭",
    layout="wide",
    # the TV and the tablet at a machine: the screen is for the page, the sidebar one tap away
    initial_sidebar_state="collapsed"
    if andon_only or started.terminal or "station" in st.query_params
    else "auto",
)
user = gate(lang)  # with a login configured: the login form and nothing else until then
if andon_only:
    # `fieldlab dashboard --andon`: the TV screen only, no navigation to wander off to
    st.navigation([andon], position="hidden").run()
    st.stop()
kiosk = started.terminal or user.machine
if kiosk:
    # `fieldlab dashboard --terminal press-1`, or a station's PIN: that machine's tablet only
    st.query_params["machine"] = kiosk
    st.navigation(
        [st.Page(here / "terminal.py", title=t("page.terminal", lang), default=True)],
        position="hidden",
    ).run()
    st.stop()
pages = [
    st.Page(here / "overview.py", title=t("page.overview", lang), default=True),
    st.Page(here / "machine.py", title=t("page.machine", lang)),
    st.Page(here / "shifts.py", title=t("page.shifts", lang)),
    st.Page(here / "orders.py", title=t("page.orders", lang)),
]
if user.may_enter_reasons():  # a viewer's direct request for /reasons finds no such page
    pages.append(st.Page(here / "reasons.py", title=t("page.reasons", lang)))
pages += [st.Page(here / "quality.py", title=t("page.quality", lang)), andon]
if started.exercise is not None:  # during `fieldlab recipe run`
    pages += [
        st.Page(here / "exercise.py", title=t("page.exercise", lang), url_path="exercise"),
        st.Page(here / "trainer.py", title=t("page.trainer", lang), url_path="trainer"),
    ]
if user.may_manage_users():
    pages.append(st.Page(here / "users.py", title=t("page.users", lang)))
if user.may_enter_reasons():  # the tablet at a machine (/terminal?machine=ID)
    pages.append(st.Page(here / "terminal.py", title=t("page.terminal", lang)))
st.navigation(pages).run()
