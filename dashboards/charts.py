"""Altair charts (shipped with Streamlit). State colours mean the same on every page; time axes
read a 24-hour clock and the reader's month and day names, numbers the reader's decimal sign."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

from fieldlab.i18n import Lang
from fieldlab.i18n.formats import vega_locales

STATE_COLORS: dict[str, str] = {
    "running": "#2e7d32",
    "idle": "#f9a825",
    "starved": "#4fc3f7",
    "blocked": "#8e24aa",
    "fault": "#c62828",
    "setup": "#1565c0",
    "planned_stop": "#9e9e9e",
    "offline": "#424242",
}


def localized(chart: Any, lang: Lang) -> Any:
    """The chart with the reader's number and time locale (Vega's default is US English:
    `01 AM`, `Mar`, `1,234.5`)."""
    loc = vega_locales(lang)
    return chart.configure(
        locale=alt.Locale(number=loc["numberFormatLocale"], time=loc["timeFormatLocale"])
    )


def time_axis(domain: tuple[str, str]) -> alt.Axis:
    """A 24-hour clock; with the weekday and date once the window spans more than a day."""
    span = pd.Timestamp(domain[1]) - pd.Timestamp(domain[0])
    fmt = "%H:%M" if span <= pd.Timedelta(hours=36) else "%a %e %b %H:%M"
    return alt.Axis(format=fmt, labelOverlap=True, title=None)


def state_scale(labels: dict[str, str] | None = None) -> alt.Scale:
    """The state colours, over the states' words in the reader's language when given."""
    names = [labels.get(s, s) for s in STATE_COLORS] if labels else list(STATE_COLORS)
    return alt.Scale(domain=names, range=list(STATE_COLORS.values()))


def loss_cascade(rows: list[tuple[str, float]], title_min: str) -> alt.Chart:
    """Planned time, then each loss taken off, ending at fully productive time."""
    data = []
    level = rows[0][1]
    data.append({"step": rows[0][0], "start": 0.0, "end": level, "kind": "total", "order": 0})
    for i, (name, minutes) in enumerate(rows[1:-1], start=1):
        data.append(
            {"step": name, "start": level - minutes, "end": level, "kind": "loss", "order": i}
        )
        level -= minutes
    data.append(
        {"step": rows[-1][0], "start": 0.0, "end": rows[-1][1], "kind": "total", "order": len(rows)}
    )
    df = pd.DataFrame(data)
    return (
        alt.Chart(df)
        .mark_bar()
        .encode(
            x=alt.X("step:N", sort=alt.SortField("order"), title=None),
            y=alt.Y("start:Q", title=title_min),
            y2="end:Q",
            color=alt.Color(
                "kind:N",
                scale=alt.Scale(domain=["total", "loss"], range=["#2e7d32", "#c62828"]),
                legend=None,
            ),
            tooltip=["step", alt.Tooltip("end:Q", format=".1f")],
        )
        .properties(height=260)
    )


def timeline(
    segments: pd.DataFrame, bands: pd.DataFrame, domain: tuple, labels: dict[str, str]
) -> alt.Chart:
    """State Gantt with shift and break bands behind it; reasons on hover. ``labels``: the
    states' words (segments carry codes; the chart shows words)."""
    segments = segments.assign(state=segments["state"].map(lambda c: labels.get(c, c)))
    x = alt.X("start:T", axis=time_axis(domain), scale=alt.Scale(domain=list(domain)))
    layers = []
    if not bands.empty:
        layers.append(
            alt.Chart(bands)
            .mark_rect(opacity=0.15)
            .encode(
                x=x,
                x2="end:T",
                color=alt.Color(
                    "band:N",
                    scale=alt.Scale(domain=["shift", "break"], range=["#90caf9", "#bdbdbd"]),
                    legend=None,
                ),
                tooltip=["band", "name"],
            )
        )
    layers.append(
        alt.Chart(segments)
        .mark_bar(height=28)
        .encode(
            x=x,
            x2="end:T",
            y=alt.Y("machine:N", title=None),
            color=alt.Color(
                "state:N",
                scale=state_scale(labels),
                # under the chart, in columns: beside it the names were cut off
                legend=alt.Legend(orient="bottom", columns=4, title=None, labelLimit=0),
            ),
            tooltip=[
                "state",
                "reason",
                alt.Tooltip("start:T", format="%H:%M:%S"),
                alt.Tooltip("end:T", format="%H:%M:%S"),
                alt.Tooltip("minutes:Q", format=".1f"),
            ],
        )
    )
    # independent colour scales: the bands' and the states' must not share one domain
    # room under the bars for two rows of the legend (Streamlit fits the whole chart in it)
    return alt.layer(*layers).resolve_scale(color="independent").properties(height=150)


def pareto(df: pd.DataFrame, minutes: str, count: str, cumulative: str) -> alt.Chart:
    base = alt.Chart(df).encode(x=alt.X("reason:N", sort="-y", title=None))
    bars = base.mark_bar(color="#c62828").encode(
        y=alt.Y("minutes:Q", title=minutes), tooltip=["reason", "minutes", "episodes"]
    )
    line = base.mark_line(point=True, color="#424242").encode(
        y=alt.Y("cumulative:Q", title=cumulative, scale=alt.Scale(domain=[0, 100]))
    )
    text = base.mark_text(dy=-6).encode(y="minutes:Q", text=alt.Text("episodes:Q"))
    return alt.layer(bars + text, line).resolve_scale(y="independent").properties(height=260)


def worm(df: pd.DataFrame, domain: tuple, good: str, target: str) -> alt.Chart:
    """Good units (solid, green) against the target (dashed, grey), the same in every language:
    the styles follow the meaning, not the alphabetical order of the words (in Dutch "doel"
    sorted before "goed" and swapped them), with one legend for both."""
    legend = alt.Legend(orient="top", title=None, symbolStrokeWidth=3)
    return (
        alt.Chart(df)
        .mark_line()
        .encode(
            x=alt.X("time:T", axis=time_axis(domain), scale=alt.Scale(domain=list(domain))),
            y=alt.Y("units:Q", title=None),
            color=alt.Color(
                "series:N",
                scale=alt.Scale(domain=[good, target], range=["#2e7d32", "#616161"]),
                legend=legend,
            ),
            strokeDash=alt.StrokeDash(
                "series:N",
                scale=alt.Scale(domain=[good, target], range=[[1, 0], [6, 4]]),
                legend=legend,
            ),
        )
        .properties(height=220)
    )


def process(df: pd.DataFrame, domain: tuple) -> alt.Chart:
    return (
        alt.Chart(df)
        .mark_line()
        .encode(
            x=alt.X("time:T", axis=time_axis(domain), scale=alt.Scale(domain=list(domain))),
            y=alt.Y("value:Q", title=None),
        )
        .properties(height=120)
    )


def energy_by_state(df: pd.DataFrame, labels: dict[str, str], kwh: str) -> alt.Chart:
    """kWh in each state, in the state colours: what standing still costs."""
    df = df.assign(state=df["state"].map(lambda c: labels.get(c, c)))
    return (
        alt.Chart(df)
        .mark_bar()
        .encode(
            x=alt.X("state:N", sort="-y", title=None),
            y=alt.Y("kwh:Q", title=kwh),
            color=alt.Color("state:N", scale=state_scale(labels), legend=None),
            tooltip=["state", alt.Tooltip("kwh:Q", format=".2f")],
        )
        .properties(height=220)
    )


def per_good(df: pd.DataFrame, domain: tuple, title: str) -> alt.Chart:
    """kWh per good unit, bucket by bucket, on the page's time axis."""
    return (
        alt.Chart(df)
        .mark_line(point=True)
        .encode(
            x=alt.X("time:T", axis=time_axis(domain), scale=alt.Scale(domain=list(domain))),
            y=alt.Y("kwh_per_good:Q", title=title),
            tooltip=[
                alt.Tooltip("time:T", format="%H:%M"),
                alt.Tooltip("kwh_per_good:Q", format=".3f"),
            ],
        )
        .properties(height=200)
    )
