"""Headless Chromium on the dashboard: its flags, and a site with two days of history."""

from __future__ import annotations

import time
from pathlib import Path

from fieldlab.bench.services import free_port
from fieldlab.config import load_site_config
from fieldlab.domain.alerts import AlertEvent
from fieldlab.domain.calendar import Calendar
from fieldlab.domain.samples import Sample
from fieldlab.simulators.synthetic import Profile, synthetic_samples
from fieldlab.store import SqliteStore

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def goto(page, url: str) -> None:
    """`page.goto`, again when Chromium aborts it because a network interface came or went
    (Docker's bridges for another test's containers: net::ERR_NETWORK_CHANGED)."""
    for attempt in range(3):
        try:
            page.goto(url)
            return
        except Exception as exc:
            if "ERR_NETWORK_CHANGED" not in str(exc) or attempt == 2:
                raise
            page.wait_for_timeout(1000)


def login(page, base: str, user: str, password: str) -> None:
    """The dashboard's login form, as a person fills it in."""
    goto(page, base)
    box = page.get_by_role("textbox", name="User name")
    try:
        box.wait_for(timeout=45_000)
    except Exception:  # noqa: BLE001 - playwright's TimeoutError: a first load lost under load
        page.reload()
        box.wait_for(timeout=45_000)
    box.fill(user)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def settled(page) -> None:
    """Streamlit draws a page in steps, old elements (`data-stale`) beside new ones until the
    run ends: wait until its status says it has finished and nothing stale is left."""
    page.wait_for_timeout(300)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=60_000)
    page.wait_for_function("() => !document.querySelector('[data-stale=\"true\"]')", timeout=60_000)
    page.wait_for_timeout(300)


def pick(page, box: str, option: str | None = None) -> None:
    """Choose in a select box as a finger does (``option`` None: the first offered); a list
    that closed again as the page redrew under it is opened once more."""
    for _ in range(3):
        page.get_by_role("combobox", name=box, exact=True).click()
        offered = page.get_by_role("option")
        if option is not None:
            offered = page.get_by_role("option", name=option, exact=True)
        try:
            offered.first.click(timeout=5_000)
            return
        except Exception:  # noqa: BLE001 - playwright's TimeoutError: open it again
            settled(page)
    raise AssertionError(f"{option!r} never offered in {box!r}:\n{page.inner_text('body')}")


def page_text(page) -> str:
    """Every text node of the page, hidden ones too (a data frame's cells live in an accessible
    table behind its canvas), without scripts and styles."""
    return page.evaluate(
        """() => {
        const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
        const out = [];
        for (let n = walk.nextNode(); n; n = walk.nextNode()) {
            const tag = n.parentElement ? n.parentElement.tagName : "";
            if (!["SCRIPT", "STYLE", "NOSCRIPT"].includes(tag)) out.push(n.textContent);
        }
        return out.join("\\n");
    }"""
    )


SITE = """\
timezone: Europe/Amsterdam
store: sqlite:///fieldlab.db
machines:
  press-1:
    name: {en: Press, nl: Pers}
    ideal_cycle_time_s: 20
    products: {A: {ideal_cycle_time_s: 15}}
  filler-1: {name: {en: Filler, nl: Vuller}, ideal_cycle_time_s: 2}
  cnc-1: {name: {en: CNC machining centre, nl: CNC-bewerkingscentrum}, ideal_cycle_time_s: 90}
  press-2:
    name: {en: Press with a too-long ideal cycle time, nl: Pers met een te lange cyclustijd}
    ideal_cycle_time_s: 60
"""


def fill_site(tmp: Path, extra: str = "") -> Path:
    """A site with three machines and two days of synthetic history up to now. Its gateway's
    /health is a free port where nothing listens: the data-quality page says the gateway is
    away instead of reading whatever gateway another test runs on the default 8787 (a demo
    beside a Dutch page showed that gateway's JSON, English keys, in the page)."""
    site = tmp / "site.yaml"
    site.write_text(SITE + f"gateway: {{http: {{port: {free_port()}}}}}\n" + extra)
    cfg = load_site_config(site)
    now = int(time.time() * 1000)
    start = now - 2 * 86_400_000
    planned = Calendar(cfg.calendar, cfg.tz).planned(start, now)
    with SqliteStore(tmp / "fieldlab.db") as store:
        for i, (m, p) in enumerate(
            (
                ("press-1", Profile(20, products=("A",))),
                ("filler-1", Profile(2, mean_run_s=200)),
                ("cnc-1", Profile(90)),
                ("press-2", Profile(20)),  # cycles of ~20 s against an ideal 60 s: P > 100 %
            )
        ):
            store.write(synthetic_samples(m, p, start, now, i, planned))
        # press-1 has a power meter (domain.md §8), and a rule fired an hour ago, still open
        power = [
            Sample(ts, "press-1", "power_kw", 12.0 if k % 2 else 3.0)
            for k, ts in enumerate(range(start, now, 300_000))
        ]
        store.write(power)
        hour_ago = now - 3_600_000
        store.write_alerts(
            [
                AlertEvent(
                    hour_ago, "lang-stil", "cnc-1", "fired", "stop", hour_ago - 600_000, "fault"
                )
            ]
        )
    return site
