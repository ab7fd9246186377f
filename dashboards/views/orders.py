"""Orders: each production order that ran in the period (#29, domain.md §5): its machine and
product, when it ran, its good units against the target it was started with, its OEE with the
losses that cost it most, over the instants the order held; as a table to download for the
reader's Excel."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from fieldlab.dashboards import data
from fieldlab.dashboards.context import page_setup
from fieldlab.dashboards.export import to_csv, to_xlsx

ctx = page_setup("page.orders")
machines = ctx.machines()
end = min(ctx.end, ctx.now)
A, P, Q = (ctx.t(f"letter.{k}") for k in ("availability", "performance", "quality"))
RATIOS = ("OEE", A, P, Q, ctx.t("orders.done"))
TARGET = ctx.t("orders.target")
rows = []
for m in machines:
    for run in data.orders(
        ctx.store_url, str(ctx.config_path), m, ctx.start, end, ctx.now, ctx.threshold
    ):
        r = run.result
        worst = max(r.losses_s.items(), key=lambda kv: kv[1], default=("", 0.0))
        rows.append(
            {
                ctx.t("term.orders"): run.order,
                ctx.t("machine"): ctx.name(m),
                ctx.t("term.product"): run.product or "–",
                ctx.t("start"): ctx.when(run.first, "EEE d MMM HH:mm"),
                ctx.t("end"): ctx.when(run.last, "EEE d MMM HH:mm"),
                ctx.t("good"): r.good,
                TARGET: run.target,
                ctx.t("orders.done"): run.to_target,
                ctx.t("scrap"): r.scrap,
                "OEE": r.oee,
                A: r.availability,
                P: r.performance,
                Q: r.quality,
                ctx.t("orders.top_loss"): (
                    f"{ctx.state(worst[0])} {ctx.dur(worst[1])}" if worst[1] > 0 else "–"
                ),
            }
        )
if not rows:
    st.info(ctx.t("orders.none"))
    st.stop()
table = pd.DataFrame(rows)
shown = table.copy()
for col in RATIOS:
    shown[col] = [ctx.pct(None if pd.isna(v) else v) for v in table[col]]
for col in (ctx.t("good"), ctx.t("scrap"), TARGET):
    shown[col] = [ctx.num(None if pd.isna(v) else v) for v in table[col]]
st.dataframe(shown, hide_index=True, width="stretch")
c1, c2 = st.columns(2)
c1.download_button(
    ctx.t("download_csv"),
    to_csv(table, ctx.lang, percent=RATIOS),
    "fieldlab-orders.csv",
    "text/csv",
)
c2.download_button(
    ctx.t("download_xlsx"),
    to_xlsx(table, percent=RATIOS),
    "fieldlab-orders.xlsx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
)
