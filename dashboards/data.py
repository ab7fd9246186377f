"""Cached reads from the store: the heavy work stays in the OEE engine, the pages only show.

Every function takes plain, hashable arguments (URLs, paths, instants) so `st.cache_data` can
key on them; a short TTL keeps live views live."""

from __future__ import annotations

import collections
import time
from pathlib import Path
from typing import Any

import streamlit as st

from fieldlab.config import load_site_config
from fieldlab.dashboards import settings
from fieldlab.domain.alerts import AlertEvent
from fieldlab.domain.answers import SIGNAL as ANSWER_SIGNAL
from fieldlab.domain.answers import AlertAnswer, latest_answers
from fieldlab.domain.learning import Attempt
from fieldlab.domain.quality import QualityEvent
from fieldlab.kpi.oee import OeeResult
from fieldlab.kpi.orders import OrderRun, order_runs
from fieldlab.kpi.output import to_json
from fieldlab.kpi.query import machine_ids as _machine_ids
from fieldlab.kpi.query import store_now, store_oee
from fieldlab.learning.exercise import Exercise
from fieldlab.store import open_store

TTL = 5


@st.cache_resource
def open_cached(url: str):
    return open_store(url)


@st.cache_data(ttl=TTL, show_spinner=False)
def newest(url: str) -> int:
    """The pages' now. A recipe run plays a day of the past: its clock is the data's
    (settings `clock: data`, set by `fieldlab recipe run`), or 'Current shift' would be
    today's."""
    store = open_cached(url)
    if settings.current().clock == "data":
        last = store.newest_ts()
        if last is not None:
            return last + 1
    return store_now(store)


@st.cache_data(ttl=TTL, show_spinner=False)
def machine_ids(url: str, config: str) -> list[str]:
    return _machine_ids(open_cached(url), load_site_config(config))


def _site(config: str):
    return load_site_config(config)


@st.cache_data(ttl=TTL, show_spinner=False)
def oee(
    url: str, config: str, machine: str, start: int, end: int, now: int, threshold: float
) -> OeeResult:
    return store_oee(
        open_cached(url),
        _site(config),
        machine,
        start,
        end,
        now=now,
        micro_stop_threshold_s=threshold,
    )


def oee_json(
    url: str, config: str, machine: str, start: int, end: int, now: int, threshold: float
) -> dict[str, Any]:
    r = oee(url, config, machine, start, end, now, threshold)
    return to_json(r, _site(config).tz)


@st.cache_data(ttl=TTL, show_spinner=False)
def series(url: str, machine: str, signal: str, start: int, end: int) -> tuple[list, list]:
    s = open_cached(url).read(machine, signal, start, end)
    return s.ts.tolist(), s.values.tolist()


@st.cache_data(ttl=TTL, show_spinner=False)
def latest(url: str, machine: str | None = None) -> list[tuple[int, str, str, object]]:
    return [(s.ts, s.machine, s.signal, s.value) for s in open_cached(url).latest(machine)]


@st.cache_data(ttl=TTL, show_spinner=False)
def state_since(url: str, machine: str) -> int | None:
    """Since when the machine is in its state: the first sample of the current run of equal
    states (domain.md §3), not the last one written (a value held through a gap repeats it)."""
    return open_cached(url).run_start(machine, "state")


@st.cache_data(ttl=TTL, show_spinner=False)
def signals(url: str, machine: str) -> list[str]:
    return open_cached(url).signals(machine)


@st.cache_data(ttl=TTL, show_spinner=False)
def shifts(config: str, start: int, end: int) -> list[tuple[str, str, int, int]]:
    site = _site(config)
    return [
        (o.name, o.date.isoformat(), o.start, o.end)
        for o in site.shift_calendar().shifts(start, end)
    ]


@st.cache_data(ttl=TTL, show_spinner=False)
def breaks(config: str, start: int, end: int) -> list[tuple[int, int]]:
    site = _site(config)
    b = site.shift_calendar().breaks(start, end)
    return list(zip(b.starts.tolist(), b.ends.tolist(), strict=True))


@st.cache_data(ttl=TTL, show_spinner=False)
def quality(url: str, start: int, end: int) -> list[QualityEvent]:
    return open_cached(url).quality(start, end)


def rejected(url: str, limit: int = 200):
    store = open_cached(url)
    return store.rejected_count(), store.rejected(limit)


def write_reason(url: str, machine: str, ts: int, reason: str, by: str) -> None:
    """An operator's reason for a stop: a `reason` sample at the episode's start, so it belongs
    to that episode (domain.md §2), and its hand entry (who, marked manual); the Pareto shows it
    at once."""
    from fieldlab.domain.entries import Entry
    from fieldlab.domain.samples import make_sample

    store = open_cached(url)
    store.write([make_sample(ts, machine, "reason", reason)])
    store.write_entries([Entry(ts, machine, "reason", reason, by, wall_ms())])
    st.cache_data.clear()


def write_manual(url: str, machine: str, signal: str, value: object, by: str, ts: int) -> None:
    """A value a person enters at the machine (scrap found, an order started or ended), at the
    pages' now, with its hand entry; checked as any sample (a scrap entry is a whole number > 0)."""
    from fieldlab.domain.entries import Entry
    from fieldlab.domain.samples import make_sample

    store = open_cached(url)
    store.write([make_sample(ts, machine, signal, value)])
    store.write_entries([Entry(ts, machine, signal, str(value), by, wall_ms())])
    st.cache_data.clear()


def write_scrap(url: str, machine: str, units: int, reason: str, by: str, ts: int) -> None:
    """Scrap found by a person (#29): the `scrap_entry` sample with its hand entry, and why,
    as a hand entry at the same instant (a reason is no value of the machine)."""
    from fieldlab.domain.entries import Entry

    write_manual(url, machine, "scrap_entry", units, by, ts)
    open_cached(url).write_entries([Entry(ts, machine, "scrap_reason", reason, by, wall_ms())])


@st.cache_data(ttl=TTL, show_spinner=False)
def orders(
    url: str, config: str, machine: str, start: int, end: int, now: int, threshold: float
) -> list[OrderRun]:
    """Each order that ran on the machine in the window (kpi/orders.py), in the order they ran."""
    return order_runs(
        open_cached(url),
        _site(config),
        machine,
        start,
        end,
        now=now,
        micro_stop_threshold_s=threshold,
    )


def write_note(url: str, machine: str, text: str, by: str, ts: int) -> None:
    """A handover note for the next shift at this machine (#29): a hand entry, no sample (it
    is no value of the machine)."""
    from fieldlab.domain.entries import Entry

    open_cached(url).write_entries([Entry(ts, machine, "handover", text, by, wall_ms())])
    st.cache_data.clear()


@st.cache_data(ttl=TTL, show_spinner=False)
def notes(url: str, since: int, machine: str | None = None) -> list[Any]:
    """Handover notes written since ``since``, newest first (cached: every page run of the
    overview and the terminal asks; a new note clears the cache)."""
    return [e for e in open_cached(url).entries(machine, 50, "handover") if e.ts >= since]


@st.cache_data(ttl=60, show_spinner=False)
def reason_counts(url: str, machine: str) -> dict[str, int]:
    """How often each reason was entered at this machine lately: the terminal's order."""
    entries = open_cached(url).entries(machine, 500, "reason")
    return dict(collections.Counter(e.value for e in entries))


@st.cache_data(ttl=TTL, show_spinner=False)
def answers(url: str) -> dict[tuple[str, str], AlertAnswer]:
    """The newest answer per (rule, subject) people gave to alerts."""
    return latest_answers(open_cached(url).entries(limit=500, signal=ANSWER_SIGNAL))


def write_answer(url: str, answer: AlertAnswer) -> None:
    open_cached(url).write_entries([answer.entry()])
    st.cache_data.clear()


def wall_ms() -> int:
    return int(time.time() * 1000)


@st.cache_data(ttl=TTL, show_spinner=False)
def alerts(url: str, start: int, end: int) -> list[AlertEvent]:
    return open_cached(url).alerts(start, end)


def exercise() -> Exercise | None:
    """The exercise of the recipe run this dashboard serves (`fieldlab recipe run` names its
    file in the dashboard's settings); None outside a recipe run."""
    path = settings.current().exercise
    if path is None or not path.is_file():
        return None
    return _exercise(str(path), path.stat().st_mtime)


@st.cache_data(show_spinner=False)
def _exercise(path: str, mtime: float) -> Exercise:
    return Exercise.load(Path(path))


def attempts(url: str, run: str) -> list[Attempt]:
    """Not cached: a participant's answer shows on the trainer's screen at its next refresh."""
    return open_cached(url).attempts(run)


def write_attempt(url: str, attempt: Attempt) -> None:
    open_cached(url).write_attempts([attempt])
