"""`fieldlab recipe check`: a recipe played through the full path (simulator → protocol →
gateway → store) at full speed, every figure and every question's answer compared with its
key, the handouts read for answers they give away."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fieldlab.config import load_site_config
from fieldlab.domain.samples import parse_ts
from fieldlab.kpi.oee import OeeResult
from fieldlab.kpi.orders import order_runs
from fieldlab.kpi.query import store_oee
from fieldlab.learning.derive import StoreEvidence
from fieldlab.stack import LocalStack
from fieldlab.store import SqliteStore
from fieldlab.workshop.recipes import (
    compare,
    handout_problems,
    load_recipe,
    question_answers,
    question_problems,
    recipes_dir,
)

_PERCENT = ("availability", "performance", "quality", "oee", "coverage")


@dataclass
class CheckResult:
    name: str
    key: dict[str, Any]
    #: window label → machine → what the store gave
    measured: dict[str, dict[str, OeeResult]] = field(default_factory=dict)
    #: question id → {"answer": …} as a participant reading the dashboard finds it
    answers: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> str:
        return json.dumps(
            {
                "recipe": self.name,
                "ok": self.ok,
                "problems": self.problems,
                "measured": {
                    label: {
                        m: {
                            k: None if getattr(r, k) is None else round(100 * getattr(r, k), 2)
                            for k in _PERCENT
                        }
                        | {"total": r.total, "good": r.good, "scrap": r.scrap}
                        for m, r in per.items()
                    }
                    for label, per in self.measured.items()
                },
                "questions": {
                    qid: {"measured": v["answer"], "key": self.key["questions"][qid]["answer"]}
                    for qid, v in self.answers.items()
                },
            },
            indent=2,
        )


def check(
    name: str,
    *,
    root: Path | None = None,
    speed: float = math.inf,
    mqtt_url: str | None = None,
    workdir: Path | None = None,
    lang: str | None = None,
) -> CheckResult:
    """Play the recipe and compare; the run's store stays in `workdir` (a temporary folder
    unless given)."""
    for logger in ("asyncua", "amqtt", "pymodbus", "asyncio", "fieldlab"):
        logging.getLogger(logger).setLevel(logging.CRITICAL)
    recipe = load_recipe(name, root)
    folder = (root or recipes_dir()) / name
    key = json.loads((folder / "answers.json").read_text(encoding="utf-8"))
    work = workdir or Path(tempfile.mkdtemp(prefix=f"fieldlab-{name}-"))
    stack = LocalStack(recipe.scenario, work.resolve(), speed=speed, mqtt_url=mqtt_url, lang=lang)

    async def play() -> None:
        await stack.start()
        assert stack.sim is not None
        await stack.run(sim_until=stack.sim.start_ms + recipe.duration_ms)
        await stack.settle()
        await stack.stop()

    asyncio.run(play())
    site = load_site_config(stack.site_path)
    result = CheckResult(name, key)
    orders: dict[str, dict] = {}
    with SqliteStore(stack.db_path, readonly=True) as store:
        for label, w in key["windows"].items():
            lo, hi = parse_ts(w["from"]), parse_ts(w["to"])
            result.measured[label] = {
                m: store_oee(store, site, m, lo, hi, now=hi) for m in w["machines"]
            }
            orders[label] = {
                m: {o.order: o.result for o in order_runs(store, site, m, lo, hi, now=hi)}
                for m in w["machines"]
            }
        if recipe.questions:
            # every question's answer through the full path, as a participant finds it
            result.answers = question_answers(
                recipe, StoreEvidence(store, site), parse_ts(key["start"])
            )
    result.problems = compare(key, result.measured, recipe.tolerance_pp, orders)
    if recipe.questions:
        result.problems += question_problems(recipe, key, result.answers)
    handouts = {
        lang: (folder / f"handout.{lang}.md").read_text(encoding="utf-8") for lang in ("nl", "en")
    }
    result.problems += handout_problems(recipe, key, handouts)
    return result
