"""Andon: the shop-floor TV. Large tiles readable from 5 m, the same state colours as every other
page, no sidebar and no Streamlit chrome; it looks at the store again every few seconds and, when
the machines do not fit on one screen, shows them screen by screen."""

from __future__ import annotations

import html
import math
import re
import time

import streamlit as st

from fieldlab.dashboards import alert_answers, data
from fieldlab.dashboards.auth import current_user
from fieldlab.dashboards.context import reader_lang, shift_context
from fieldlab.dashboards.tiles import Tile, tile

#: No sidebar, no header or toolbar, little padding: the screen is for the tiles. Sizes in
#: viewport units, so a 1920×1080 TV and a laptop both show the whole grid.
CSS = """
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], header,
[data-testid="stToolbar"], [data-testid="stDecoration"], footer { display: none !important; }
.block-container { padding: 1vh 1vw !important; max-width: 100% !important; }
.andon { display: grid; gap: 1vh 1vw; height: 92vh; }
.andon-tile { border-radius: 1vh; color: white; padding: 1.2vh 1.2vw; overflow: hidden;
  display: flex; flex-direction: column; justify-content: space-between; gap: .4vh;
  container-type: inline-size; min-width: 0; }
/* Every text at least 3 % of the screen's height (32 px on a 1920x1080 TV: read from 5 m);
   the OEE as large as the tile's width lets it be without being cut off (1280 to 1920 wide) */
.andon-name { font-size: 3.4vh; font-weight: 700; white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; }
.andon-state { font-size: 3.2vh; }
.andon-oee { font-size: min(10vh, 15cqw); font-weight: 800; line-height: 1.15;
  white-space: nowrap; }
.andon-apq { font-size: 3.2vh; }
.andon-note { font-size: 3vh; line-height: 1.15; background: rgba(0,0,0,.35);
  border-radius: .6vh; padding: .3vh .5vw; }
.andon-name, .andon-state, .andon-apq, .andon-note { overflow-wrap: anywhere; }
.andon-foot { font-size: 3vh; opacity: .85; text-align: right; padding-top: .5vh; }
.andon-alert { font-size: 2.6vh; font-weight: 700; color: #b71c1c; white-space: nowrap;
  overflow: hidden; text-overflow: ellipsis; }
</style>
"""


def tile_html(v: Tile, letters: tuple[str, str, str]) -> str:
    e = html.escape
    a, p, q = letters
    # a TV says what, not the whole sentence: the note up to its first colon or full stop (the
    # machine page and the overview say the rest)
    short = re.split(r"[:.]\s", v.notes[0], maxsplit=1)[0] if v.notes else ""
    more = f" (+{len(v.notes) - 1})" if len(v.notes) > 1 else ""
    note = f"<div class='andon-note'>⚠ {e(short)}{more}</div>" if v.notes else ""
    return (
        f"<div class='andon-tile' data-machine='{e(v.machine)}' style='background:{v.color}'>"
        f"<div class='andon-name'>{e(v.machine)} · {e(v.name)}</div>"
        f"<div class='andon-state'>{e(v.state_line)}</div>"
        f"<div class='andon-oee'>OEE {e(v.oee)}</div>"
        + (f"<div class='andon-apq'>{e(v.coverage)}</div>" if v.coverage else "")
        + f"<div class='andon-apq'>{a} {e(v.availability)} · {p} {e(v.performance)} · "
        f"{q} {e(v.quality)}</div>{note}<div class='andon-note'>{e(v.progress)}</div></div>"
    )


st.markdown(CSS, unsafe_allow_html=True)
lang = reader_lang()
ctx = shift_context(lang)
user = current_user()
settings = ctx.site.dashboard.andon
machines = ctx.machines()
per_screen = settings.columns * settings.rows
screens = max(1, math.ceil(len(machines) / per_screen))


@st.fragment(run_every=settings.refresh_s)
def board() -> None:
    ctx.now = data.newest(ctx.store_url)  # live: each refresh looks at the store again
    screen = int(time.time() // settings.cycle_s) % screens
    shown = machines[screen * per_screen : (screen + 1) * per_screen]
    rows = math.ceil(len(shown) / settings.columns) or 1
    grid = (
        f"grid-template-columns: repeat({settings.columns}, 1fr);"
        f"grid-template-rows: repeat({rows}, 1fr)"
    )
    letters = tuple(ctx.t(f"letter.{k}") for k in ("availability", "performance", "quality"))
    tiles = "".join(tile_html(tile(ctx, m), letters) for m in shown)  # type: ignore[arg-type]
    page = f" · {screen + 1}/{screens}" if screens > 1 else ""
    # open alerts above the tiles, loud until answered (one button each): the tiles give up
    # the rows' height, so the whole grid still fits the screen
    rows = alert_answers.andon_rows(ctx, user)
    if rows:
        grid += f";height: calc(92vh - {rows * alert_answers.ANDON_ROW_PX}px)"
    st.markdown(
        f"<div class='andon' style='{grid}'>{tiles}</div>"
        f"<div class='andon-foot'>{html.escape(ctx.when(ctx.now, 'EEEE d MMM HH:mm'))}{page}</div>",
        unsafe_allow_html=True,
    )


board()
