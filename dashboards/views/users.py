"""Users (admins only): who may log in and in which role. Passwords are not shown anywhere; the
admin changes users on the server with `fieldlab users`."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from fieldlab.dashboards.auth import current_user
from fieldlab.dashboards.context import page_setup
from fieldlab.dashboards.users import load_users, users_path

ctx = page_setup("page.users")
if not current_user().may_manage_users():
    st.stop()
path = users_path(ctx.site, ctx.config_path)
if path is None:
    st.info(ctx.t("users.help", config=ctx.config_path))
    st.stop()
users = load_users(path)
rows = [
    {ctx.t("login.user"): login, ctx.t("full_name"): u.name, ctx.t("role"): ctx.t(f"role.{u.role}")}
    for login, u in users.users.items()
]
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
st.caption(ctx.t("users.help", config=ctx.config_path))
