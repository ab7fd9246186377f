"""fieldlab dashboard: a Streamlit multipage app over the store (`fieldlab dashboard`)."""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from fieldlab.i18n import detect_lang, t

lang = st.session_state.get("lang", detect_lang())
here = Path(__file__).parent / "pages"
andon = st.Page(here / "andon.py", title=t("page.andon", lang), url_path="andon")
if os.environ.get("FIELDLAB_ANDON") == "1":
    # `fieldlab dashboard --andon`: the TV screen only, no navigation to wander off to
    st.set_page_config(
        page_title="fieldlab andon", layout="wide", initial_sidebar_state="collapsed"
    )
    st.navigation([andon], position="hidden").run()
    st.stop()
st.set_page_config(page_title="fieldlab OEE", page_icon="🏭", layout="wide")
st.navigation(
    [
        st.Page(here / "overview.py", title=t("page.overview", lang), default=True),
        st.Page(here / "machine.py", title=t("page.machine", lang)),
        st.Page(here / "shifts.py", title=t("page.shifts", lang)),
        st.Page(here / "reasons.py", title=t("page.reasons", lang)),
        st.Page(here / "quality.py", title=t("page.quality", lang)),
        andon,
    ]
).run()
