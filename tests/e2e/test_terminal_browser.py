"""The operator terminal as a kiosk on a 10" tablet (#29): `fieldlab dashboard --terminal ID`
in headless Chromium at 1280×800 and 800×1280: only the terminal, every button a finger can
hit (at least 48 px high), a tap on a reason stored and confirmed."""

from __future__ import annotations

import time

import pytest

from fieldlab.domain.samples import Sample
from fieldlab.store import SqliteStore
from tests.browser import CHROMIUM_FLAGS, fill_site
from tests.services import Process, eventually, free_port, require, wait_port

#: Chromium against a live dashboard: page loads wait on rendering, alone
pytestmark = pytest.mark.serial

REASONS = (
    "reasons:\n  jam: {en: Jam, nl: Vastloper}\n  changeover: {en: Changeover, category: setup}\n"
)


@pytest.mark.parametrize("size", [(1280, 800), (800, 1280)], ids=["landscape", "portrait"])
def test_the_terminal_kiosk_on_a_tablet(tmp_path, size):
    from playwright.sync_api import sync_playwright

    chromium = require("chromium")
    site = fill_site(tmp_path, REASONS)
    now = int(time.time() * 1000)
    with SqliteStore(tmp_path / "fieldlab.db") as store:
        store.write([Sample(now - 3_600_000, "line-9", "state", "running")])
        store.write([Sample(now - 300_000, "line-9", "state", "fault")])
    port = free_port()
    args = ("dashboard", "-c", str(site), "--port", str(port), "--terminal", "line-9")
    with Process(*args, "--lang", "nl") as proc:
        wait_port(port, 60)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
            try:
                page = browser.new_page(viewport={"width": size[0], "height": size[1]})
                page.goto(f"http://127.0.0.1:{port}")
                jam = page.get_by_role("button", name="Vastloper")
                jam.wait_for(timeout=60_000)
                # the kiosk: no menu to wander off to
                assert page.locator('[data-testid="stSidebarNav"]').count() == 0
                heights = page.locator('[data-testid="stButton"] button').evaluate_all(
                    "bs => bs.map(b => b.getBoundingClientRect().height)"
                )
                assert heights and min(heights) >= 48, heights
                assert jam.bounding_box()["width"] >= 48  # type: ignore[index]
                jam.click()
                page.get_by_text("Opgeslagen").first.wait_for(timeout=30_000)
            finally:
                browser.close()
        proc.stop()

    def stored():
        with SqliteStore(tmp_path / "fieldlab.db", readonly=True) as store:
            return store.read("line-9", "reason", 0, 2**62).values.tolist()

    assert eventually(stored, "the reason in the store") == ["jam"]
