"""A workshop run for a room (`fieldlab recipe run`): the recipe's machines, gateway and
dashboard on this laptop (the stack), the exercise the Exercise and Trainer pages read, play
straight through or paced by the participants, and at the end the trainer's export in the
run's own folder. The command around it prints and reads keys; this holds what a run is."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fieldlab.config.paths import data_dir
from fieldlab.dashboards.export import to_csv, to_xlsx
from fieldlab.dashboards.settings import DashboardSettings
from fieldlab.domain.samples import from_ms, parse_ts
from fieldlab.i18n import Lang
from fieldlab.learning.exercise import Exercise
from fieldlab.learning.progress import by_participant, rows, summary_html
from fieldlab.stack import LocalStack
from fieldlab.store import SqliteStore, StoreError
from fieldlab.workshop.recipes import Recipe, exercise, load_recipe, recipes_dir


def run_folder(name: str) -> Path:
    """Where a workshop run keeps its data and every participant's answers: a folder of its own
    in the kit's data folder (config/paths.py), named for the recipe and the minute it
    started, kept after the run."""
    stamp = dt.datetime.now().strftime("%Y-%m-%d_%H%M")
    base = data_dir() / "workshops" / f"{name}_{stamp}"
    folder, n = base, 2
    while folder.exists():
        folder, n = base.with_name(f"{base.name}_{n}"), n + 1
    return folder


def lan_address(host: str) -> str:
    """The address laptops in the room use, when the dashboard listens on all of them."""
    if host not in ("0.0.0.0", "::"):
        return host
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing address
            return str(s.getsockname()[0])
    except OSError:
        return "127.0.0.1"


@dataclass
class RecipeRun:
    name: str
    recipe: Recipe
    stack: LocalStack
    #: what the Exercise and Trainer pages read; None for a recipe without questions
    exercise: Exercise | None = None
    #: opens the Trainer page (printed for the trainer only)
    trainer_code: str = ""

    @classmethod
    def prepare(
        cls,
        name: str,
        *,
        root: Path | None = None,
        speed: float | None = None,
        mqtt_url: str | None = None,
        lang: str | None = None,
        workdir: Path | None = None,
        host: str = "127.0.0.1",
        self_paced: bool = False,
    ) -> RecipeRun:
        recipe = load_recipe(name, root)
        stack = LocalStack(
            recipe.scenario,
            (workdir or run_folder(name)).resolve(),
            speed=speed or recipe.speed,
            mqtt_url=mqtt_url,
            dashboard=True,
            lang=lang,
        )
        stack.dashboard_host = host
        run = cls(name, recipe, stack)
        if recipe.questions:
            run._write_exercise(root, self_paced)
        return run

    def _write_exercise(self, root: Path | None, self_paced: bool) -> None:
        folder = (root or recipes_dir()) / self.name
        key = json.loads((folder / "answers.json").read_text(encoding="utf-8"))
        ex = exercise(self.name, self.recipe, key, parse_ts(key["start"]), self_paced=self_paced)
        ex.run = f"{self.name}@{int(time.time() * 1000)}"  # each run its own answers
        self.stack.workdir.mkdir(parents=True, exist_ok=True)
        path = self.stack.workdir / "exercise.json"
        ex.save(path)
        self.exercise, self.trainer_code = ex, f"{secrets.randbelow(10_000):04d}"
        self.stack.dashboard_settings = DashboardSettings(
            exercise=path, trainer_code=self.trainer_code, clock="data"
        )

    @property
    def end(self) -> int:
        assert self.stack.sim is not None
        return self.stack.sim.start_ms + self.recipe.duration_ms

    async def play(self, self_paced: bool, waiting: Callable[[str, list[str]], None]) -> None:
        """To the recipe's end: straight through, or paced, pausing at each question's moment
        until everyone who started has finished the questions open by then (`waiting` is told
        the clock and the questions)."""
        ex = self.exercise
        if ex is None or not self_paced:
            await self.stack.run(sim_until=self.end)
            return
        sim = self.stack.sim
        assert sim is not None
        for opens in sorted({min(q.opens_ms, self.end) for q in ex.questions} | {self.end}):
            await self.stack.run(sim_until=opens)
            if sim.stopping:
                return
            sim.pause()
            due = [q.id for q in ex.questions if q.opens_ms <= opens]
            if due:
                waiting(from_ms(opens).astimezone(ex.tz).strftime("%H:%M"), due)
            while due and not sim.stopping:
                with SqliteStore(self.stack.db_path, readonly=True) as store:
                    people = by_participant(ex, store.attempts(ex.run))
                if people and all(p.questions[q].finished for p in people.values() for q in due):
                    break
                await asyncio.sleep(1)
            sim.resume()
            if opens >= self.end:
                return

    def learned(self, lang: Lang) -> list[str]:
        """The recipe's goal and what each question taught, for the end of a paced run."""
        if self.exercise is None:
            return []
        ex = self.exercise
        return [self.recipe.goal[lang], *(q.explanation(lang, ex.tz) for q in ex.questions)]

    def save_results(self, lang: Lang) -> list[Path]:
        """The trainer's export, written into the run's folder when the run ends: the answers of
        every participant (CSV the reader's Excel opens, and Excel) and one summary page each."""
        import pandas as pd

        ex, work = self.exercise, self.stack.workdir
        if ex is None or not self.stack.db_path.exists():
            return []  # no questions, or stopped before anything was stored
        try:
            with SqliteStore(self.stack.db_path, readonly=True) as store:
                people = by_participant(ex, store.attempts(ex.run))
        except StoreError:
            return []
        if not people:
            return []
        table = pd.DataFrame(rows(ex, people, lang))
        out = [work / "answers.csv", work / "answers.xlsx"]
        out[0].write_bytes(to_csv(table, lang))
        out[1].write_bytes(to_xlsx(table))
        for who, person in people.items():
            safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in who) or "participant"
            page = work / f"summary-{safe}.html"
            page.write_text(summary_html(ex, person, lang), encoding="utf-8")
            out.append(page)
        return out
