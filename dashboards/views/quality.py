"""Data quality: how fresh each signal is, when machines were offline, codes that mapped to
nothing, rejected records with their reasons, and the gateway's own /health."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pandas as pd
import streamlit as st

from fieldlab.dashboards import data
from fieldlab.dashboards.context import page_setup
from fieldlab.domain.quality import QualityEvent
from fieldlab.i18n import has


def clock_words(e: QualityEvent) -> str:
    """A clock step or skew as a sentence in the reader's language (domain.md §9)."""
    d = ctx.dur(abs(e.value_s))
    if e.kind == "clock_step":
        return ctx.t("clock.step_forward" if e.value_s > 0 else "clock.step_back", d=d)
    if e.kind == "clock_skew":
        side = ctx.t("clock.ahead" if e.value_s > 0 else "clock.behind")
        return ctx.t("clock.skew", source=e.source, d=d, dir=side)
    return ctx.t("clock.agrees", source=e.source)


def health_words(h: dict[str, Any]) -> None:
    """The gateway's /health as a person reads it: a sentence, its sources and where the data
    goes, in words and the reader's numbers; the JSON stays one click away for an engineer."""
    ok = h.get("status") == "ok"
    say = st.success if ok else st.warning
    say(ctx.t("health.ok" if ok else "health.degraded", d=ctx.dur(h.get("uptime_s"))))
    rows = []
    for src in h.get("sources", []):
        clock = src.get("clock") or {}
        offset = clock.get("offset_s")
        if clock.get("skewed"):
            clock_text = ctx.t("health.clock_off", d=ctx.dur(abs(offset or 0)))
        elif clock.get("stamped_by") == "gateway":
            clock_text = ctx.t("health.clock_gateway")
        else:
            clock_text = ctx.t("health.clock_own")
        rows.append(
            {
                ctx.t("source"): src.get("name"),
                ctx.t("health.protocol"): src.get("type"),
                ctx.t("health.state"): ctx.t(f"health.state.{src.get('state')}")
                if has(f"health.state.{src.get('state')}")
                else str(src.get("state")),
                ctx.t("health.samples"): ctx.num(src.get("samples")),
                ctx.t("health.last"): ctx.dur(src.get("last_sample_age_s")),
                ctx.t("rejected"): ctx.num(src.get("rejected")),
                ctx.t("health.clock"): clock_text,
                ctx.t("health.last_error"): src.get("last_error") or "",
            }
        )
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    steps = h.get("clock") or {}
    if steps.get("steps_forward") or steps.get("steps_backward"):
        st.caption(
            ctx.t(
                "health.steps",
                forward=steps.get("steps_forward", 0),
                back=steps.get("steps_backward", 0),
            )
        )
    sinks = [
        {
            ctx.t("health.sink"): s.get("name"),
            ctx.t("health.reachable"): ctx.t("yes" if s.get("up", 1.0) else "no"),
            ctx.t("health.waiting"): ctx.num(s.get("queued_points", 0)),
        }
        for s in h.get("sinks", [])
    ]
    st.dataframe(pd.DataFrame(sinks), hide_index=True, width="stretch")
    with st.expander(ctx.t("health.details")):
        st.json(h)


ctx = page_setup("page.quality")
machines = ctx.machines()

st.subheader(ctx.t("last_sample_age"))
ages = pd.DataFrame(
    [
        {
            ctx.t("machine"): ctx.name(m),
            ctx.t("signal"): ctx.signal(sig),
            ctx.t("age"): ctx.dur((ctx.now - ts) / 1000),
            ctx.t("value"): ctx.value(sig, v)[:40],
        }
        for ts, m, sig, v in data.latest(ctx.store_url)
    ]
)
st.dataframe(ages, hide_index=True, width="stretch")

offline, notes = [], []
for m in machines:
    r = data.oee(ctx.store_url, str(ctx.config_path), m, ctx.start, ctx.end, ctx.now, ctx.threshold)
    ep = r.episodes
    for i, cat in enumerate(ep.category):
        if cat == "offline":
            offline.append(
                {
                    ctx.t("machine"): ctx.name(m),
                    ctx.t("start"): ctx.when(int(ep.start[i])),
                    ctx.t("length"): ctx.dur((int(ep.end[i]) - int(ep.start[i])) / 1000),
                }
            )
    notes.append(
        {
            ctx.t("machine"): ctx.name(m),
            ctx.t("flags"): f"{ctx.t('coverage')} {ctx.pct(r.coverage)}",
        }
    )
    notes += [{ctx.t("machine"): ctx.name(m), ctx.t("flags"): note} for note in ctx.notes(r)]
st.subheader(ctx.t("offline_periods"))
st.dataframe(pd.DataFrame(offline), hide_index=True, width="stretch")
st.subheader(ctx.t("unmapped"))
st.dataframe(pd.DataFrame(notes), hide_index=True, width="stretch")

st.subheader(ctx.t("clocks"))
events = data.quality(ctx.store_url, ctx.start, min(ctx.end, ctx.now + 1))
if events:
    st.dataframe(
        pd.DataFrame([{ctx.t("start"): ctx.when(e.ts), "": clock_words(e)} for e in events]),
        hide_index=True,
        width="stretch",
    )
else:
    st.caption(ctx.t("clocks.none"))

st.subheader(ctx.t("rejected"))
count, records = data.rejected(ctx.store_url)
st.metric(ctx.t("rejected"), ctx.num(count))
st.dataframe(
    pd.DataFrame(
        [
            {
                ctx.t("source"): r.source,
                ctx.t("reason"): r.reason,
                ctx.t("payload"): r.payload[:120],
                ctx.t("repeats"): ctx.num(r.repeats),
            }
            for r in records
        ]
    ),
    hide_index=True,
    width="stretch",
)
if any(r.repeats for r in records):
    st.caption(ctx.t("repeats.note"))

st.subheader(ctx.t("gateway_health"))
http = (ctx.site.gateway or {}).get("http", {})
url = f"http://{http.get('host', '127.0.0.1')}:{http.get('port', 8787)}/health"
try:
    with urllib.request.urlopen(url, timeout=1) as resp:
        health_words(json.load(resp))
except urllib.error.HTTPError as exc:
    health_words(json.load(exc))
except OSError:
    st.caption(ctx.t("gateway_unreachable", url=url))
