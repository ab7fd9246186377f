"""A workshop room in a real headless Chromium: `fieldlab recipe run knelpunt` serves two
participants (one in English, one in Dutch) and a trainer, each in a browser context of their
own. Answers right, close and wrong get their feedback in the reader's language, the hint after
a miss and the explanation when right; a reload keeps the answers; the trainer's view shows both
participants live, behind the code the run printed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fieldlab.domain.samples import parse_ts
from fieldlab.i18n import t
from fieldlab.store import SqliteStore
from tests.browser import CHROMIUM_FLAGS, page_text
from tests.helpers import foreign_texts
from tests.services import Process, eventually, require, wait_port

#: three browsers in one room against a recipe run: alone
pytestmark = [pytest.mark.serial, pytest.mark.xdist_group("pages")]

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_two_participants_and_a_trainer_in_one_room(tmp_path: Path):
    from playwright.sync_api import expect, sync_playwright

    chromium = require("chromium")
    key = json.loads((ROOT / "recipes/knelpunt/answers.json").read_text())["questions"]
    oee = float(key["welder-oee"]["answer"])
    workdir = tmp_path / "room"
    args = ("recipe", "run", "knelpunt", "--no-browser", "--workdir", str(workdir))
    with Process(*args, "--speed", "3600") as run, sync_playwright() as pw:
        run.wait_for("the recipe has ended", 120)
        # At 3600x the simulator is done in seconds and the gateway is still draining its
        # MQTT backlog from the embedded broker (a few hundred messages a second): the pages'
        # clock is the data's, so the questions open only once the data is in. Wait for it.
        end = parse_ts(json.loads(_last_line(workdir / "truth.jsonl"))["ts"])
        eventually(
            lambda: _newest(workdir / "fieldlab.db") >= end - 60_000,
            "the day's data in the store",
            180,
            detail=lambda: run.output[-2000:],
        )
        base = re.search(r"exercise +(http://\S+)/exercise", run.output).group(1)  # type: ignore[union-attr]
        code = re.search(r"trainer +\S+ +code (\d{4})", run.output).group(1)  # type: ignore[union-attr]
        wait_port(int(base.rsplit(":", 1)[1]), 60)
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        try:
            anne = browser.new_context(viewport={"width": 1200, "height": 1600}).new_page()
            bram = browser.new_context(viewport={"width": 1200, "height": 1600}).new_page()
            trainer = browser.new_context(viewport={"width": 1400, "height": 1800}).new_page()

            def answer_choice(page, label: str, send: str) -> None:
                page.get_by_text(label, exact=True).click()
                page.get_by_role("button", name=send).click()

            # Anne, in English, names herself on the page
            anne.goto(f"{base}/exercise")
            anne.get_by_role("textbox", name="Your name").fill("Anne")
            anne.get_by_role("button", name="Start").click()
            expect(anne.get_by_text("Answering as Anne")).to_be_visible(timeout=60_000)
            # question 1: a wrong choice gives "Not right." and the hint, then the right one
            answer_choice(anne, "Packer", "Answer")
            expect(anne.get_by_text("Not right.")).to_be_visible(timeout=30_000)
            expect(anne.get_by_text("The overview shows the OEE of every machine")).to_be_visible()
            answer_choice(anne, "Welder", "Answer")
            expect(anne.get_by_text("Right!").first).to_be_visible(timeout=30_000)
            expect(anne.get_by_text("sets the pace of all three")).to_be_visible()
            # question 2 right at once; question 3 first close, then right the Dutch way
            answer_choice(anne, "Cutter", "Answer")
            expect(anne.get_by_text("Question 3")).to_be_visible(timeout=30_000)
            anne.get_by_role("textbox", name="Your answer").fill(f"{oee + 1.6:.1f}")
            anne.get_by_role("button", name="Answer").click()
            expect(anne.get_by_text("Close, but not within the margin")).to_be_visible(
                timeout=30_000
            )
            anne.get_by_role("textbox", name="Your answer").fill(f"{oee:.1f}".replace(".", ","))
            anne.get_by_role("button", name="Answer").click()
            expect(anne.get_by_text("Question 4")).to_be_visible(timeout=30_000)
            # a reload keeps everything: the name is in the address, the answers in the store
            assert "p=Anne" in anne.url
            anne.reload()
            expect(anne.get_by_text("Answering as Anne")).to_be_visible(timeout=60_000)
            expect(anne.get_by_text("Question 4")).to_be_visible()
            expect(anne.get_by_text("sets the pace of all three")).to_be_visible()

            # Bram, in Dutch, comes in by the address
            bram.goto(f"{base}/exercise?p=Bram")
            bram.get_by_text("Nederlands").click()
            expect(bram.get_by_text("Je antwoordt als Bram")).to_be_visible(timeout=60_000)
            answer_choice(bram, "Lasser", "Antwoorden")
            expect(bram.get_by_text("Goed!").first).to_be_visible(timeout=30_000)
            answer_choice(bram, "Inpakker", "Antwoorden")
            expect(bram.get_by_text("Niet goed.")).to_be_visible(timeout=30_000)
            expect(bram.get_by_text("Tip", exact=False).first).to_be_visible()
            # through the menu to the overview and back: Dutch all the way
            nav = bram.locator('[data-testid="stSidebarNav"] a')
            nav.filter(has_text=re.compile("^Overzicht$")).click()
            expect(bram.get_by_role("heading", name="Overzicht")).to_be_visible(timeout=30_000)
            nav.filter(has_text=re.compile("^Opdracht$")).click()
            expect(bram.get_by_text("Je antwoordt als Bram")).to_be_visible(timeout=30_000)

            # the trainer: the code first, then both participants, live
            trainer.goto(f"{base}/trainer")
            trainer.get_by_role("textbox", name="Trainer code").fill(code)
            trainer.get_by_role("textbox", name="Trainer code").press("Enter")
            expect(trainer.get_by_text("Questions most got wrong")).to_be_visible(timeout=60_000)
            table = trainer.locator('[data-testid="stTable"]').first
            expect(table).to_contain_text("Anne")
            expect(table).to_contain_text("Bram")
            # Bram answers again; the trainer's table changes without a reload
            answer_choice(bram, "Snijder", "Antwoorden")
            expect(bram.get_by_text("Vraag 3")).to_be_visible(timeout=30_000)
            expect(table).to_contain_text("2 / 4", timeout=15_000)
            bram.get_by_role("textbox", name="Je antwoord").fill(f"{oee - 1.6:.1f}")
            bram.get_by_role("button", name="Antwoorden").click()
            expect(bram.get_by_text("Bijna, maar niet binnen de marge")).to_be_visible(
                timeout=30_000
            )
            expect(table).to_contain_text("3 / 4", timeout=15_000)
            with trainer.expect_download() as info:
                trainer.get_by_role("button", name="CSV").click()
            csv = Path(info.value.path()).read_text(encoding="utf-8-sig")
            assert "participant" in csv and "Anne" in csv and "Bram" in csv
            # every page in one language only (#28): no text of the other one's catalog
            foreign = {
                "exercise en": foreign_texts(page_text(anne), "en"),
                "exercise nl": foreign_texts(page_text(bram), "nl"),
                "trainer en": foreign_texts(page_text(trainer), "en"),
            }
            trainer.get_by_text("Nederlands").click()
            expect(trainer.get_by_text(t("tr.hardest", "nl"))).to_be_visible(timeout=60_000)
            trainer.wait_for_timeout(1000)
            foreign["trainer nl"] = foreign_texts(page_text(trainer), "nl")
            assert {p: words for p, words in foreign.items() if words} == {}
        finally:
            browser.close()
        run.stop()
    with SqliteStore(workdir / "fieldlab.db", readonly=True) as store:
        ex = json.loads((workdir / "exercise.json").read_text())
        got = [(a.participant, a.question, a.verdict) for a in store.attempts(ex["run"])]
        # the run went through the full path (simulator → MQTT → gateway → store): its figures
        # and every question's answer are the key's, as `recipe check` compares them
        assert full_path_problems(store, workdir) == []
    assert got == [
        ("Anne", "lowest-oee", "wrong"),
        ("Anne", "lowest-oee", "right"),
        ("Anne", "most-blocked", "right"),
        ("Anne", "welder-oee", "close"),
        ("Anne", "welder-oee", "right"),
        ("Bram", "lowest-oee", "right"),
        ("Bram", "most-blocked", "wrong"),
        ("Bram", "most-blocked", "right"),
        ("Bram", "welder-oee", "close"),
    ], got


def full_path_problems(store: SqliteStore, workdir: Path) -> list[str]:
    from fieldlab.config import load_site_config
    from fieldlab.domain.samples import parse_ts
    from fieldlab.kpi.query import store_oee
    from fieldlab.learning.derive import StoreEvidence
    from fieldlab.workshop.recipes import (
        compare,
        load_recipe,
        question_answers,
        question_problems,
    )

    recipe = load_recipe("knelpunt")
    key = json.loads((ROOT / "recipes/knelpunt/answers.json").read_text())
    site = load_site_config(workdir / "site.yaml")
    results = {
        label: {
            m: store_oee(
                store, site, m, parse_ts(w["from"]), parse_ts(w["to"]), now=parse_ts(w["to"])
            )
            for m in w["machines"]
        }
        for label, w in key["windows"].items()
    }
    measured = question_answers(recipe, StoreEvidence(store, site), parse_ts(key["start"]))
    return compare(key, results, recipe.tolerance_pp) + question_problems(recipe, key, measured)


def _last_line(path: Path) -> str:
    with path.open("rb") as f:
        f.seek(max(0, path.stat().st_size - 4096))
        return f.read().decode("utf-8", "replace").strip().splitlines()[-1]


def _newest(db: Path) -> int:
    import sqlite3

    con = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return int(con.execute("SELECT coalesce(max(ts), 0) FROM latest").fetchone()[0])
    finally:
        con.close()
