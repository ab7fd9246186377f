"""Login and roles on a server (site file `dashboard: {auth: {users_file: …}}`).

streamlit-authenticator draws the login form, checks the bcrypt hash and keeps the session in a
signed cookie that expires (`cookie.expiry_hours` of the users file); a kept library instead of
session handling of our own. Here only: who exists (dashboards/users.py) and what a role may do.
Without `auth` (a laptop, `fieldlab demo`) there is no login and everyone may do everything.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import streamlit as st

from fieldlab.config import ConfigError, load_site_config
from fieldlab.dashboards import settings
from fieldlab.dashboards.context import config_path
from fieldlab.dashboards.users import UsersFile, load_users, users_path
from fieldlab.i18n import Lang, t


@dataclass(frozen=True)
class User:
    login: str  # "" when there is no login
    name: str
    role: str
    machine: str = ""  # a station: the one machine whose terminal it may use

    def may_enter_reasons(self) -> bool:
        return self.role in ("operator", "admin", "station")

    def may_manage_users(self) -> bool:
        """Only where there is a login: a laptop without one has no users to manage (its
        Users page only printed where the users file would be)."""
        return self.role == "admin" and bool(self.login)


NO_LOGIN = User("", "", "admin")
ANONYMOUS = User("", "", "")
_KEY = "fieldlab_user"


def current_user() -> User:
    """The user `gate` let in (pages ask before they offer what a role may not do). A page run
    on its own (tests) has no gate: everyone without a login configured, nobody with one."""
    user = st.session_state.get(_KEY)
    if isinstance(user, User):
        return user
    try:
        site = load_site_config(config_path())
    except ConfigError:
        return ANONYMOUS
    return NO_LOGIN if site.dashboard.auth is None else ANONYMOUS


def gate(lang: Lang) -> User:
    """The logged-in user, or the login form and nothing else (st.stop): no page, no data."""
    path = config_path()
    try:
        site = load_site_config(path)
        file = users_path(site, path)
        users = load_users(file) if file is not None else None
    except ConfigError as exc:
        st.error(t("config_error", lang, error=exc))
        st.stop()
    if users is None:
        st.session_state[_KEY] = NO_LOGIN
        return NO_LOGIN
    station = settings.current().terminal or str(st.query_params.get("station", ""))
    if station in users.stations:
        return _station(users, station, lang)
    import streamlit_authenticator as stauth
    from streamlit_authenticator.utilities.exceptions import CredentialsError, LoginError

    authenticator = stauth.Authenticate(
        users.credentials(),
        users.cookie.name,
        users.cookie.key,
        users.cookie.expiry_hours / 24,
        auto_hash=False,
    )
    fields = {
        "Form name": t("login.title", lang),
        "Username": t("login.user", lang),
        "Password": t("login.password", lang),
        "Login": t("login.button", lang),
    }
    try:
        authenticator.login(location="main", fields=fields, key="login")
    except (LoginError, CredentialsError):  # a login the library refused: say no, not why
        st.session_state["authentication_status"] = False
    status = st.session_state.get("authentication_status")
    login = st.session_state.get("username")
    record = users.users.get(str(login)) if status else None
    if record is None:
        st.session_state.pop(_KEY, None)
        st.session_state.pop("fieldlab_login_at", None)
        if status is False:
            # one message for a wrong name and a wrong password: which part is not said
            st.error(t("login.refused", lang))
        st.stop()
    since = st.session_state.setdefault("fieldlab_login_at", time.time())
    if time.time() - since > users.cookie.expiry_hours * 3600:
        # a browser tab left open does not stay logged in past the cookie's lifetime
        authenticator.logout(location="unrendered", key="expire")
        st.session_state.pop(_KEY, None)
        st.session_state.pop("fieldlab_login_at", None)
        st.error(t("login.expired", lang))
        st.stop()
    user = User(str(login), record.name, record.role)
    st.session_state[_KEY] = user
    with st.sidebar:
        st.caption(t("login.as", lang, name=user.name, role=t(f"role.{user.role}", lang)))
        authenticator.logout(t("login.logout", lang), location="sidebar", key="logout")
    return user


#: wrong PINs in a row before a station waits, and how long (a 6-digit PIN is then out of reach)
MAX_TRIES, LOCK_S = 5, 60.0


@st.cache_resource
def _tries() -> dict[str, list[float]]:
    """Wrong PINs per station, shared by every session of this dashboard."""
    return {}


def _station(users: UsersFile, machine: str, lang: Lang) -> User:
    """A tablet at one machine (`?station=press-1`, or the kiosk): its PIN, set by an admin with
    `fieldlab users station`, opens that machine's terminal and nothing else."""
    user = st.session_state.get(_KEY)
    if isinstance(user, User) and user.machine == machine:
        return user
    with st.form("station"):
        st.subheader(t("station.title", lang, machine=machine))
        pin = st.text_input(t("station.pin", lang), type="password", max_chars=12)
        sent = st.form_submit_button(t("station.open", lang))
    if sent:
        tries = _tries().setdefault(machine, [])
        if len(tries) >= MAX_TRIES and time.time() - tries[-1] < LOCK_S:
            st.error(t("station.locked", lang, s=int(LOCK_S - (time.time() - tries[-1])) + 1))
        elif users.check_station(machine, pin):
            tries.clear()
            user = User(f"station:{machine}", machine, "station", machine)
            st.session_state[_KEY] = user
            st.rerun()
        else:
            tries[:] = [*tries[-(MAX_TRIES - 1) :], time.time()]
            st.error(t("station.refused", lang))
    st.stop()
