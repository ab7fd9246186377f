"""Data quality: how fresh each signal is, when machines were offline, codes that mapped to
nothing, rejected records with their reasons, and the gateway's own /health."""

from __future__ import annotations

import json
import urllib.request

import pandas as pd
import streamlit as st

from fieldlab.dashboards import data
from fieldlab.dashboards.context import page_setup
from fieldlab.domain.quality import QualityEvent


def clock_words(e: QualityEvent) -> str:
    """A clock step or skew as a sentence in the reader's language (domain.md §9)."""
    d = ctx.dur(abs(e.value_s))
    if e.kind == "clock_step":
        return ctx.t("clock.step_forward" if e.value_s > 0 else "clock.step_back", d=d)
    if e.kind == "clock_skew":
        side = ctx.t("clock.ahead" if e.value_s > 0 else "clock.behind")
        return ctx.t("clock.skew", source=e.source, d=d, dir=side)
    return ctx.t("clock.agrees", source=e.source)


ctx = page_setup("page.quality")
machines = ctx.machines()

st.subheader(ctx.t("last_sample_age"))
ages = pd.DataFrame(
    [
        {
            ctx.t("machine"): m,
            ctx.t("signal"): sig,
            ctx.t("age"): ctx.dur((ctx.now - ts) / 1000),
            "value": str(v)[:40],
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
                    ctx.t("machine"): m,
                    ctx.t("start"): ctx.when(int(ep.start[i])),
                    ctx.t("length"): ctx.dur((int(ep.end[i]) - int(ep.start[i])) / 1000),
                }
            )
    notes.append(
        {ctx.t("machine"): m, ctx.t("flags"): f"{ctx.t('coverage')} {ctx.pct(r.coverage)}"}
    )
    notes += [{ctx.t("machine"): m, ctx.t("flags"): note} for note in ctx.notes(r)]
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
        st.json(json.load(resp))
except urllib.error.HTTPError as exc:
    st.json(json.load(exc))
except OSError:
    st.caption(ctx.t("gateway_unreachable", url=url))
