"""Every dashboard page, in English and Dutch, in a real headless Chromium (Debian's, driven by
Playwright; no browser download). Each loads without an error element, shows the machine names
and the key numbers, and is saved as a screenshot (FIELDLAB_SCREENSHOTS=DIR keeps them; the
README's come from here)."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest

from tests.browser import CHROMIUM_FLAGS, fill_site, goto, page_text, settled
from tests.helpers import foreign_texts
from tests.services import Process, free_port, require, wait_port

#: Chromium against a live dashboard: page loads wait on rendering, alone
pytestmark = [pytest.mark.serial, pytest.mark.xdist_group("pages")]

PAGES = {
    "": "Overview",
    "machine": "Machine",
    "shifts": "Shifts",
    "reasons": "Stop reasons",
    "quality": "Data quality",
}
DUTCH = {
    "": "Overzicht",
    "machine": "Machine",
    "shifts": "Ploegen",
    "reasons": "Stopredenen",
    "quality": "Datakwaliteit",
}


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory):
    chromium = require("chromium")
    site = fill_site(tmp_path_factory.mktemp("dash"))
    port = free_port()
    with Process("dashboard", "--config", str(site), "--port", str(port), "--lang", "en") as p:
        wait_port(port, 60)
        yield f"http://127.0.0.1:{port}", chromium
        p.stop()


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_every_page_loads_in_a_real_browser(dashboard, lang, tmp_path):
    from playwright.sync_api import sync_playwright

    base, chromium = dashboard
    out = Path(os.environ.get("FIELDLAB_SCREENSHOTS", tmp_path))
    out.mkdir(parents=True, exist_ok=True)
    titles = DUTCH if lang == "nl" else PAGES
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 2400})
        try:
            for path, title in titles.items():
                goto(page, f"{base}/{path}")
                # the first load after a cold start can be blank: wait for content, not a time
                page.get_by_role("heading", name=PAGES[path]).wait_for(timeout=60_000)
                if lang == "nl":
                    page.get_by_text("Nederlands").click()
                page.get_by_role("heading", name=title).wait_for(timeout=30_000)
                page.wait_for_load_state("networkidle")
                page.wait_for_timeout(800)  # let the charts draw before the screenshot
                body = page.inner_text("body")
                assert page.locator('[data-testid="stException"]').count() == 0, body[:500]
                assert page.locator('[data-testid="stAlertContentError"]').count() == 0
                assert "Deploy" not in body  # no Streamlit chrome on a shop floor
                # 42,5 % for a Dutch reader, 42.5 % for an English one; never the other
                ours, theirs = (r"\d+,\d %", r"\d+\.\d %")[:: 1 if lang == "nl" else -1]
                assert not re.search(theirs, body), (path, body[:800])
                if path in ("", "machine"):  # (tables are drawn on a canvas: not in the text)
                    # the tiles come after the heading and the alert row: wait for them (a run
                    # on a loaded runner read the overview before its first tile was drawn; the
                    # alert row names press-1 too, so the machine's name alone is no sign)
                    page.get_by_text("press-1").first.wait_for(timeout=30_000)
                    page.locator('[data-testid="stMetric"]').first.wait_for(timeout=30_000)
                    body = page.inner_text("body")
                    assert "press-1" in body and re.search(ours, body), (path, body[:800])
                if path == "":
                    assert "cnc-1" in body and "filler-1" in body
                    # a laptop without a login has no users to manage: no Users page
                    nav = page.locator('[data-testid="stSidebarNav"]').inner_text()
                    assert "Users" not in nav and "Gebruikers" not in nav, nav
                    # the tile with P > 100 % says why, in the reader's language
                    above = "P boven 100 %" if lang == "nl" else "P above 100 %"
                    assert above in body and "ideal_cycle_time_s" in body, body[:2000]
                    # the site's energy total and the open alert, in the reader's words
                    cnc = "CNC-bewerkingscentrum" if lang == "nl" else "CNC machining centre"
                    assert "kWh" in body and f"{cnc}: " in body, body[:2000]
                    assert ("storing" if lang == "nl" else "fault") in body
                if path == "machine":  # press-1 first: its energy section
                    energy = "Energie" if lang == "nl" else "Energy"
                    page.get_by_role("heading", name=energy).wait_for(timeout=30_000)
                    assert "kWh" in page.inner_text("body")
                if path == "shifts" and lang == "nl":
                    dutch_excel_reads_the_csv(page)
                page.screenshot(path=str(out / f"{lang}-{path or 'overview'}.png"), full_page=True)
        finally:
            browser.close()


def dutch_excel_reads_the_csv(page) -> None:
    """The CSV download as Dutch Excel reads it: `;` columns, decimal comma, UTF-8 by its BOM."""
    import pandas as pd

    with page.expect_download() as info:
        page.get_by_role("button", name="CSV downloaden").first.click()
    raw = Path(info.value.path()).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    table = pd.read_csv(io.BytesIO(raw), sep=";", decimal=",", encoding="utf-8-sig")
    # Dutch letters: B(eschikbaarheid), P(restatie), K(waliteit), as the handouts write them
    assert {"machine", "OEE %", "B %", "K %"} <= set(table.columns), table.columns
    assert table["OEE %"].dtype.kind == "f" and table["OEE %"].between(0, 300).all()


@pytest.mark.slow
def test_andon_screen_shows_every_machine_on_a_1920x1080_tv(tmp_path):
    """`fieldlab dashboard --andon`: no sidebar, no Streamlit chrome, every machine's tile
    inside the screen, in the state colours of the other pages."""
    from playwright.sync_api import sync_playwright

    from fieldlab.dashboards.charts import STATE_COLORS

    chromium = require("chromium")
    site = fill_site(tmp_path)
    port = free_port()
    out = Path(os.environ.get("FIELDLAB_SCREENSHOTS", tmp_path))
    args = ("dashboard", "--config", str(site), "--port", str(port), "--andon", "--lang", "nl")
    with Process(*args), sync_playwright() as pw:
        wait_port(port, 60)
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1920, "height": 1080})
            goto(page, f"http://127.0.0.1:{port}/")
            tiles = page.locator(".andon-tile")
            tiles.first.wait_for(timeout=60_000)
            page.wait_for_timeout(500)
            assert tiles.count() == 4
            for i in range(4):
                box = tiles.nth(i).bounding_box()
                assert box is not None
                assert box["x"] >= 0 and box["y"] >= 0, box
                assert box["x"] + box["width"] <= 1920 and box["y"] + box["height"] <= 1080, box
                assert box["height"] > 250  # readable from 5 m: a third of the screen or more
                colour = tiles.nth(i).evaluate("e => getComputedStyle(e).backgroundColor")
                hexes = {
                    "rgb({}, {}, {})".format(*(int(h[k : k + 2], 16) for k in (1, 3, 5)))
                    for h in STATE_COLORS.values()
                }
                assert colour in hexes, colour
            body = page.inner_text("body")
            assert "OEE" in body and re.search(r"\d+,\d %", body), body[:500]
            # the open alert of cnc-1 above the tiles, one button to answer it (#29)
            alert = page.locator(".andon-alert")
            assert alert.count() == 1 and "CNC" in alert.inner_text(), body[:500]
            ack = page.get_by_role("button", name="Gezien")
            assert ack.bounding_box()["y"] + ack.bounding_box()["height"] <= 1080  # type: ignore[index]
            for hidden in ('[data-testid="stSidebar"]', '[data-testid="stToolbar"]'):
                assert not page.locator(hidden).is_visible()
            assert "Deploy" not in body
            # read from 5 m: every text on a tile at least 3 % of the screen's height
            sizes = page.evaluate(
                """() => [...document.querySelectorAll('.andon-tile *')]
                     .filter(e => e.innerText && e.innerText.trim())
                     .map(e => [e.className, parseFloat(getComputedStyle(e).fontSize)])"""
            )
            small = [(c, px) for c, px in sizes if px < 0.03 * 1080 - 0.01]
            assert not small, small
            page.screenshot(path=str(out / "nl-andon.png"))
            # the tiles in the overview's order, and nothing cut off at the usual TV and
            # laptop widths
            order = [tiles.nth(i).get_attribute("data-machine") for i in range(tiles.count())]
            assert order == ["press-1", "filler-1", "cnc-1", "press-2"], order
            for width in (1280, 1440, 1920):
                page.set_viewport_size({"width": width, "height": 1080 * width // 1920})
                page.wait_for_timeout(400)
                # a tile hides what overflows it: its content must fit it
                cut = page.evaluate(
                    """() => [...document.querySelectorAll('.andon-tile')]
                         .filter(e => e.scrollWidth > e.clientWidth + 1
                                   || e.scrollHeight > e.clientHeight + 1)
                         .map(e => [e.dataset.machine, e.scrollWidth, e.clientWidth,
                                    e.scrollHeight, e.clientHeight])"""
                )
                assert not cut, (width, cut)
        finally:
            browser.close()


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_the_language_chosen_stays_while_clicking_through_the_sidebar(dashboard, lang):
    """Chosen once, on the first page: every page reached by clicking the menu, a reload and
    the andon (no sidebar) stay in it; the address carries it (`?lang=`). Choosing Nederlands
    used to be lost at every page change."""
    from playwright.sync_api import sync_playwright

    base, chromium = dashboard
    titles = DUTCH if lang == "nl" else PAGES
    foreign: dict[str, list[str]] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        try:
            goto(page, base)
            page.get_by_role("heading", name="Overview").wait_for(timeout=60_000)
            page.get_by_text("Nederlands" if lang == "nl" else "English").click()
            page.get_by_role("heading", name=titles[""]).wait_for(timeout=30_000)
            for path in ("machine", "shifts", "reasons", "quality", ""):
                link = page.locator('[data-testid="stSidebarNav"] a').filter(
                    has_text=re.compile(f"^{re.escape(titles[path])}$")
                )
                link.click()
                page.get_by_role("heading", name=titles[path]).wait_for(timeout=30_000)
                page.wait_for_timeout(500)
                chosen = page.get_by_role("radio", name="Nederlands" if lang == "nl" else "English")
                assert chosen.is_checked(), (path, page.url)
                assert f"lang={lang}" in page.url, page.url
                settled(page)
                foreign[path] = foreign_texts(page_text(page), lang)
            page.reload()
            page.get_by_role("heading", name=titles[""]).wait_for(timeout=30_000)
            # the andon, reached by the menu too (a TV's bookmark carries ?lang=, tested above)
            page.locator('[data-testid="stSidebarNav"] a').filter(
                has_text=re.compile("^Andon")
            ).click()
            page.locator(".andon-tile").first.wait_for(timeout=60_000)
            assert f"lang={lang}" in page.url, page.url
            text = page.inner_text("body")
            assert ("goed" in text) == (lang == "nl") and ("good" in text) == (lang == "en"), text
            foreign["andon"] = foreign_texts(page_text(page), lang)
        finally:
            browser.close()
    # no text of the other language's catalog on any page (#28: "no data", "Download CSV", …)
    assert {p: words for p, words in foreign.items() if words} == {}
