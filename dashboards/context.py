"""What every page shares: the site file, the store, the language, the period and the
micro-stop threshold, chosen in the sidebar. Pages read the store (through `data`), never the
gateway's memory."""

from __future__ import annotations

import datetime as dt
import functools
import time
from dataclasses import dataclass
from pathlib import Path
from typing import cast
from zoneinfo import ZoneInfo

import streamlit as st

from fieldlab.config import ConfigError, SiteConfig, load_site_config
from fieldlab.dashboards import settings
from fieldlab.domain.samples import from_ms
from fieldlab.i18n import LANGS, Lang, detect_lang, formats, has, t
from fieldlab.kpi.oee import OeeResult
from fieldlab.kpi.periods import period_bounds
from fieldlab.store import Store, StoreError

PERIODS = ("current_shift", "today", "yesterday", "this_week", "this_month", "custom")


@dataclass
class Context:
    config_path: Path
    site: SiteConfig
    store_url: str
    store: Store
    lang: Lang
    now: int
    start: int
    end: int
    threshold: float

    @property
    def tz(self) -> ZoneInfo:
        return self.site.tz

    def t(self, key: str, **kw: object) -> str:
        return t(key, self.lang, **kw)

    # Every figure a person reads, as the reader writes it (fieldlab.i18n.formats).
    def pct(self, ratio: float | None) -> str:
        return formats.percent(ratio, self.lang)

    def num(self, x: float | None, digits: int = 0) -> str:
        return formats.number(x, self.lang, digits)

    def dur(self, seconds: float | None) -> str:
        return formats.duration(seconds, self.lang)

    def when(self, ms: int | None, pattern: str = "d MMM y HH:mm") -> str:
        return formats.when(ms, self.tz, self.lang, pattern)

    def reason(self, code: object) -> str:
        """A stop reason's words (site file, else the kit's table); none recorded: (unexplained)."""
        return self.site.reason_label(str(code), self.lang) if code else self.t("unexplained")

    def state(self, code: object) -> str:
        key = f"state.{code}"
        return self.t(key) if has(key) else str(code)

    def name(self, machine: str) -> str:
        """The machine as people call it, in the reader's language (its id where unnamed)."""
        return self.site.machine(machine).label(self.lang, machine)

    def shift(self, name: str) -> str:
        """A shift's name: the usual ones (early, late, night, day) in the reader's words, a
        site's own name as the site file gives it."""
        return self.t(f"shift.{name}") if has(f"shift.{name}") else name

    def signal(self, signal: str) -> str:
        """A signal as people call it, with its unit: `Spindelbelasting (%)`."""
        unit = self.site.signal_unit(signal)
        name = self.site.signal_name(signal, self.lang)
        return f"{name} ({unit})" if unit else name

    def value(self, signal: str, v: object) -> str:
        """A stored value in words: a state or reason as words, a number as the reader writes
        it with its unit (up to three decimals, as read), a product or order as it is."""
        if signal == "state":
            return self.state(v)
        if signal == "reason":
            return self.reason(v)
        if isinstance(v, bool) or not isinstance(v, int | float):
            return str(v)
        digits = 0 if float(v).is_integer() else min(3, len(f"{v}".split(".")[-1]))
        unit = self.site.signal_unit(signal)
        return f"{self.num(v, digits)} {unit}" if unit else self.num(v, digits)

    def current_reason(self, r: OeeResult, state: str) -> str | None:
        """The reason of the stop going on now (domain.md §2: a reason belongs to its episode),
        never the newest `reason` sample of a stop that is over."""
        ep = r.episodes
        if state in ("running", "planned_stop", "offline") or not len(ep.start):
            return None
        return ep.reason[-1] if int(ep.end[-1]) >= min(self.now, r.end) - 1 else None

    def state_line(self, state: str, since_ms: int | None, reason: object) -> str:
        """`storing · gereedschapsbreuk · 12 min` ; an offline machine says since when, never
        the reason from before it went offline."""
        if state == "offline":
            return (
                self.t("offline_since", when=self.when(since_ms)) if since_ms else self.state(state)
            )
        parts = [self.state(state)]
        if reason and state not in ("running", "planned_stop"):
            words = self.reason(reason)
            if words != parts[0]:  # `omstellen · omstellen` says nothing twice
                parts.append(words)
        if since_ms is not None:
            parts.append(self.t("in_state_for", d=self.dur((self.now - since_ms) / 1000)))
        return " · ".join(parts)

    def coverage(self, r: OeeResult) -> str:
        """`62,0 % waargenomen` beside a figure observed for less than 95 % of its planned
        time (domain.md §5); "" otherwise."""
        if r.coverage is None or r.coverage >= 0.95:
            return ""
        return self.t("coverage.short", pct=self.pct(r.coverage))

    def notes(self, r: OeeResult) -> list[str]:
        """Every flag of domain.md §5 on this figure, and low coverage, as a sentence that says
        what it means and what to check."""
        out = []
        if r.coverage is not None and r.coverage < 0.9995 and not r.no_data:
            out.append(self.t("flag.low_coverage", pct=self.pct(r.coverage)))
        for flag in r.flags:
            key = f"flag.{flag.split(':', 1)[0]}"
            out.append(self.t(key) if has(key) else flag)
        return out

    def machines(self) -> list[str]:
        """The machines of the site and the store; none yet stops the page with a word why."""
        from fieldlab.dashboards.data import machine_ids

        found = machine_ids(self.store_url, str(self.config_path))
        if not found:
            st.info(self.t("empty_store"))
            st.stop()
        return found

    def local(self, ms: int) -> dt.datetime:
        return from_ms(ms).astimezone(self.tz)


def config_path() -> Path:
    return settings.current().config


def reader_lang() -> Lang:
    """The reader's language, on every page and after a reload: the address (`?lang=nl`, so a
    bookmark, an andon TV's included, carries it), then the choice made on an earlier page,
    then `fieldlab dashboard --lang` (FIELDLAB_LANG), the site's `language:`, the locale. The
    address is kept saying it (Streamlit drops query parameters on a page change)."""
    asked = st.query_params.get("lang")
    if asked in LANGS:
        lang = cast(Lang, asked)
    elif st.session_state.get("lang") in LANGS:
        lang = st.session_state["lang"]
    else:
        lang = detect_lang(settings.current().lang or _site_language(config_path()))
    st.session_state["lang"] = lang
    if st.query_params.get("lang") != lang:
        st.query_params["lang"] = lang
    return lang


def _chosen() -> None:
    lang = st.session_state.get("lang_radio")
    if lang in LANGS:
        st.session_state["lang"] = lang
        st.query_params["lang"] = lang


def _site_language(path: Path) -> str | None:
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return None
    return _site_language_at(str(path), stamp)


@functools.lru_cache(maxsize=8)
def _site_language_at(path: str, stamp: int) -> str | None:
    try:
        return load_site_config(Path(path)).language
    except ConfigError:
        return None


def store_url(site: SiteConfig, path: Path) -> str:
    url = settings.current().store or site.store
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_absolute():
        url = f"sqlite:///{(path.parent / url.removeprefix('sqlite:///')).resolve()}"
    return url


def open_site(lang: Lang) -> tuple[Path, SiteConfig, str, Store, int]:
    """The site file, its store and the store's now; stops the page with a clear message when
    either cannot be read or the store is still empty. Nothing for a browser that is not
    logged in where a login is configured (app.py asks first; this is the second lock)."""
    from fieldlab.dashboards.auth import ANONYMOUS, current_user

    if current_user() is ANONYMOUS:
        st.stop()
    path = config_path()
    try:
        site = load_site_config(path)
    except ConfigError as exc:
        st.error(t("config_error", lang, error=exc))
        st.stop()
    url = store_url(site, path)
    try:
        from fieldlab.dashboards.data import newest, open_cached

        store = open_cached(url)
        now = newest(url)
        empty = store.newest_ts() is None
    except StoreError as exc:
        st.error(t("store_error", lang, error=exc, config=path))
        st.stop()
    if empty:
        st.info(t("empty_store", lang))
        st.stop()
    return path, site, url, store, now


def shift_context(lang: Lang) -> Context:
    """The current shift, no sidebar: what the andon screen shows."""
    path, site, url, store, now = open_site(lang)
    start, end = period_bounds("current_shift", now, site)
    return Context(path, site, url, store, lang, now, start, end, site.oee.micro_stop_threshold_s)


def page_setup(title_key: str) -> Context:
    """Sidebar controls and the page title; stops the page with a clear message when the site
    file or the store cannot be read."""
    lang = reader_lang()
    # The radio shows the reader's language; a click is taken in its callback, before the page
    # runs again, so the address and the next page have it too
    st.session_state["lang_radio"] = lang
    st.sidebar.radio(
        t("language", lang),
        LANGS,
        key="lang_radio",
        horizontal=True,
        format_func=lambda x: {"en": "English", "nl": "Nederlands"}[x],
        on_change=_chosen,
    )
    st.title(t(title_key, lang))
    path, site, url, store, now = open_site(lang)
    # The key carries the language: Streamlit keeps a widget's rendered labels while its key
    # stays, so a new key is how "Huidige ploeg" replaces "Current shift". The choice itself
    # survives the switch in session state.
    choice = st.session_state.get("period_choice", PERIODS[0])
    period = st.sidebar.selectbox(
        t("period", lang),
        PERIODS,
        index=PERIODS.index(choice),
        key=f"period_{lang}",
        format_func=lambda p: t(f"period.{p}", lang),
    )
    st.session_state.period_choice = period
    custom = None
    if period == "custom":
        # from–to by day, or to the minute (a workshop's "06:00 to 10:00"): a time left empty
        # is the day's start, or its end
        today = from_ms(now).astimezone(site.tz).date()
        left, right = st.sidebar.columns(2)
        first = left.date_input(t("from", lang), today - dt.timedelta(days=7), key="from")
        since = right.time_input(t("time", lang), None, key="from_time", step=300)
        last = left.date_input(t("to", lang), today, key="to")
        until = right.time_input(t("time", lang), None, key="to_time", step=300)
        custom = (
            first if since is None else dt.datetime.combine(first, since),
            last if until is None else dt.datetime.combine(last, until),
        )
    start, end = period_bounds(period, now, site, custom)
    threshold = st.sidebar.slider(
        t("threshold", lang),
        0,
        600,
        int(site.oee.micro_stop_threshold_s),
        step=10,
        key="threshold",
        help=t("threshold.help", lang),
    )
    st.sidebar.caption(
        f"{formats.when(start, site.tz, lang)} → {formats.when(min(end, now), site.tz, lang)}"
        f" ({site.timezone})"
    )
    # a workshop or a fast demo plays simulated time; a real site's pages run on the clock
    simulated = settings.current().clock == "data" or now > time.time() * 1000 + 60_000
    clock = t("sim_clock" if simulated else "clock_now", lang)
    st.sidebar.caption(f"{clock}: {formats.when(now, site.tz, lang, 'EEEE d MMM y HH:mm:ss')}")
    return Context(path, site, url, store, lang, now, start, end, float(threshold))
