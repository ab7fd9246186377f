"""fieldlab dashboard: a Streamlit multipage app over the store (`fieldlab dashboard`)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from fieldlab.i18n import detect_lang, t

st.set_page_config(page_title="fieldlab OEE", page_icon="🏭", layout="wide")
lang = st.session_state.get("lang", detect_lang())
here = Path(__file__).parent / "pages"
st.navigation(
    [
        st.Page(here / "overview.py", title=t("page.overview", lang), default=True),
        st.Page(here / "machine.py", title=t("page.machine", lang)),
        st.Page(here / "shifts.py", title=t("page.shifts", lang)),
        st.Page(here / "reasons.py", title=t("page.reasons", lang)),
        st.Page(here / "quality.py", title=t("page.quality", lang)),
    ]
).run()
