"""The operator terminal as a kiosk on a 10" tablet (#29): `fieldlab dashboard --terminal ID`
in headless Chromium with touch, at 1280×800 in Dutch and 800×1280 in English: only the
terminal, every button a finger can hit (at least 48 px high); an operator explains the stop
with one tap, corrects it, books scrap, starts an order with its target and ends it, leaves a
note for the next shift and acknowledges an alert; each confirmed on screen and in the store
with who entered it."""

from __future__ import annotations

import time

import pytest

from fieldlab.domain.alerts import AlertEvent
from fieldlab.domain.samples import Sample
from fieldlab.store import SqliteStore
from tests.browser import CHROMIUM_FLAGS, fill_site, goto, pick, settled
from tests.services import Process, eventually, free_port, require, wait_port

#: Chromium against a live dashboard: page loads wait on rendering, alone
pytestmark = [pytest.mark.serial, pytest.mark.xdist_group("pages")]

REASONS = (
    "reasons:\n  jam: {en: Jam, nl: Vastloper}\n  changeover: {en: Changeover, category: setup}\n"
    "  material: {en: No material, nl: Geen materiaal}\n"
)
WORDS = {
    "nl": {
        "jam": "Vastloper",
        "material": "Geen materiaal",
        "saved": "Opgeslagen",
        "correct": "Een reden van deze ploeg verbeteren",
        "units": "stuks",
        "book": "Als afkeur boeken",
        "number": "Ordernummer (typen of scannen)",
        "target": "Doel (goede stuks)",
        "start": "Order starten",
        "end": "Order beëindigen",
        "of": "goed 0 van 500",
        "scrapped": "Opgeslagen: 3 stuks afkeur (Braam)",
        "why_scrap": "Reden van afkeur",
        "burr": "Braam",
        "ended": "order 4711 beëindigd",
        "noted": "Opgeslagen: de notitie",
        "note": "Wat moet de volgende ploeg over deze machine weten?",
        "save_note": "Notitie opslaan",
        "ack": "Gezien",
        "acked": "gezien door",
    },
    "en": {
        "jam": "Jam",
        "material": "No material",
        "saved": "Saved",
        "correct": "Correct a reason given this shift",
        "units": "units",
        "book": "Book as scrap",
        "number": "Order number (type or scan)",
        "target": "Target (good units)",
        "start": "Start order",
        "end": "End order",
        "of": "good 0 of 500",
        "scrapped": "Saved: 3 units scrap (Burr)",
        "why_scrap": "Why scrap",
        "burr": "Burr",
        "ended": "order 4711 ended",
        "noted": "Saved: the note",
        "note": "What should the next shift know about this machine?",
        "save_note": "Save note",
        "ack": "Acknowledge",
        "acked": "acknowledged by",
    },
}


@pytest.mark.parametrize(
    ("size", "lang"),
    [((1280, 800), "nl"), ((800, 1280), "en")],
    ids=["landscape-nl", "portrait-en"],
)
def test_an_operator_at_the_kiosk_on_a_tablet(tmp_path, size, lang):
    from playwright.sync_api import sync_playwright

    chromium = require("chromium")
    w = WORDS[lang]
    site = fill_site(tmp_path, REASONS)
    now = int(time.time() * 1000)
    with SqliteStore(tmp_path / "fieldlab.db") as store:
        store.write([Sample(now - 3_600_000, "line-9", "state", "running")])
        store.write([Sample(now - 300_000, "line-9", "state", "fault")])
        store.write_alerts(
            [
                AlertEvent(
                    now - 60_000, "lang-stil", "line-9", "fired", "stop", now - 300_000, "fault"
                )
            ]
        )
    port = free_port()
    args = ("dashboard", "-c", str(site), "--port", str(port), "--terminal", "line-9")
    with Process(*args, "--lang", lang) as proc:
        wait_port(port, 60)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
            try:
                tablet = browser.new_context(
                    viewport={"width": size[0], "height": size[1]}, has_touch=True
                )
                page = tablet.new_page()
                goto(page, f"http://127.0.0.1:{port}")
                jam = page.get_by_role("button", name=w["jam"], exact=True)
                jam.wait_for(timeout=60_000)
                # the kiosk: no menu to wander off to
                assert page.locator('[data-testid="stSidebarNav"]').count() == 0
                heights = page.locator('[data-testid="stButton"] button').evaluate_all(
                    "bs => bs.map(b => b.getBoundingClientRect().height)"
                )
                assert heights and min(heights) >= 48, heights
                assert jam.bounding_box()["width"] >= 48  # type: ignore[index]

                def confirmed(text: str) -> None:
                    try:
                        page.get_by_text(text).first.wait_for(timeout=30_000)
                        settled(page)  # the rest of the page redrawn: no stale form to fill
                    except Exception:  # noqa: BLE001 - playwright's TimeoutError: say what shows
                        raise AssertionError(
                            f"{text!r} not shown:\n{page.inner_text('body')}"
                        ) from None

                # the stop explained with one tap, then corrected within the shift
                jam.tap()
                confirmed(f"{w['saved']}: {w['jam']}")
                page.get_by_text(w["correct"]).tap()
                page.get_by_role("button", name=w["material"], exact=True).last.tap()
                confirmed(f"{w['saved']}: {w['material']}")
                # scrap found, an order with its target started and ended, a note left
                page.get_by_label(w["units"], exact=True).fill("3")
                pick(page, w["why_scrap"], w["burr"])
                page.get_by_role("button", name=w["book"]).tap()
                confirmed(w["scrapped"])
                page.get_by_label(w["number"]).fill("4711")
                page.get_by_label(w["target"]).fill("500")
                page.get_by_role("button", name=w["start"]).tap()
                confirmed(w["of"])
                page.get_by_role("button", name=w["end"]).tap()
                confirmed(w["ended"])
                page.get_by_label(w["note"]).fill("beitel 3 bijna op")
                page.get_by_role("button", name=w["save_note"]).tap()
                confirmed(w["noted"])
                confirmed("beitel 3 bijna op")
                # the machine's open alert, acknowledged here
                page.get_by_role("button", name=w["ack"]).first.tap()
                confirmed(w["acked"])
            finally:
                browser.close()
        proc.stop()

    def stored():
        with SqliteStore(tmp_path / "fieldlab.db", readonly=True) as store:
            got = {
                sig: store.read("line-9", sig, 0, 2**62).values.tolist()
                for sig in ("reason", "scrap_entry", "order", "order_target")
            }
            return got, store.entries("line-9", limit=50)

    (got, entries) = eventually(stored, "the entries in the store")
    assert got == {
        "reason": ["material"],  # the correction replaced the first answer
        "scrap_entry": [3],
        "order": ["4711", ""],
        "order_target": [500],
    }, got
    kinds = sorted(e.signal for e in entries)
    assert kinds.count("reason") == 2 and "handover" in kinds and "alert_ack" in kinds, kinds
    assert [e.value for e in entries if e.signal == "scrap_reason"] == ["burr"]
    assert {e.by for e in entries} == {"terminal"} and {e.source for e in entries} == {"manual"}


def test_a_tap_while_the_terminal_has_lost_its_server_is_plainly_not_stored(tmp_path):
    """The Wi-Fi at the press drops (here: the dashboard goes away): a tap then stores nothing
    and confirms nothing; once the terminal is back it still asks for that stop."""
    from playwright.sync_api import sync_playwright

    chromium = require("chromium")
    site = fill_site(tmp_path, REASONS)
    now = int(time.time() * 1000)
    with SqliteStore(tmp_path / "fieldlab.db") as store:
        store.write([Sample(now - 3_600_000, "line-9", "state", "running")])
        store.write([Sample(now - 300_000, "line-9", "state", "fault")])
    port = free_port()
    args = ("dashboard", "-c", str(site), "--port", str(port), "--terminal", "line-9", "--lang")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
            with Process(*args, "en") as proc:
                wait_port(port, 60)
                goto(page, f"http://127.0.0.1:{port}")
                jam = page.get_by_role("button", name="Jam", exact=True)
                jam.wait_for(timeout=60_000)
                proc.stop()
            jam.click(timeout=10_000, force=True)  # the tap while nothing answers
            page.wait_for_timeout(2000)
            assert page.get_by_text("Saved").count() == 0
            with Process(*args, "en"):
                wait_port(port, 60)
                # back: the terminal still asks for the stop, and nothing says it was saved
                page.get_by_role("button", name="Jam", exact=True).wait_for(timeout=60_000)
                page.wait_for_timeout(1000)
                assert page.get_by_text("Saved").count() == 0
        finally:
            browser.close()
    with SqliteStore(tmp_path / "fieldlab.db", readonly=True) as store:
        assert len(store.read("line-9", "reason", 0, 2**62)) == 0
        assert store.entries() == []
