"""Workshop recipes: a scenario played at workshop speed, a handout, and an answer key made
from the simulator's ground truth, so every room sees the same numbers and a trainer knows them.

A recipe lives in ``recipes/<name>/``: ``recipe.yaml`` (scenario, speed, duration, learning
goal, exercises, tolerance), ``handout.nl.md`` and ``handout.en.md`` for participants, and the
generated ``answers.json`` with ``trainer.nl.md`` and ``trainer.en.md``.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fieldlab.config.loader import ConfigError, format_validation_error
from fieldlab.config.site import display_name
from fieldlab.domain.durations import parse_duration_ms
from fieldlab.domain.history import histories_from_samples
from fieldlab.domain.samples import Sample, format_ts
from fieldlab.i18n import Lang, formats
from fieldlab.i18n import t as words
from fieldlab.kpi.oee import Dialect, OeeResult, site_oee
from fieldlab.kpi.per import oee_per
from fieldlab.learning.derive import Evidence, TruthEvidence, derive
from fieldlab.learning.exercise import Choice, Exercise, ExerciseQuestion
from fieldlab.learning.grade import grade
from fieldlab.learning.questions import Question
from fieldlab.simulators.runner import Simulation
from fieldlab.simulators.scenario import Scenario

Text = dict[str, str]  # {"en": …, "nl": …}


class Recipe(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Text
    goal: Text
    speed: float = Field(32, gt=0, description="workshop speed: 32× is 8 h in 15 min")
    duration: str = "8h"
    exercises: list[Text] = Field(default_factory=list)
    questions: list[Question] = Field(
        default_factory=list, description="asked in the dashboard; answers come from the truth"
    )
    tolerance_pp: float = Field(0.5, gt=0, description="percentage points for OEE, A, P, Q")
    thresholds: list[float] = Field(
        default_factory=list, description="extra micro-stop thresholds in the answer key"
    )
    split_at: str | None = Field(
        None,
        description="also answer the two halves around this offset, e.g. 4h (before/after rounds)",
    )
    scenario: Scenario

    @property
    def duration_ms(self) -> int:
        return parse_duration_ms(self.duration)

    def choices(self, q: Question) -> list[Choice]:
        """A choice question's options with their words: given in the recipe, else a machine's
        name, a stop reason's or a state's words from the kit's tables."""
        if isinstance(q.choices, dict):
            return [Choice(code=c, label=label) for c, label in q.choices.items()]
        site = self.scenario.site_config()
        out = []
        for c in q.choices or []:
            if c in self.scenario.machines:
                name = self.scenario.machines[c].name
                label = {lang: display_name(name, lang, c) for lang in ("en", "nl")}
            elif q.answer.kind == "top_reason":
                label = {lang: site.reason_label(c, lang) for lang in ("en", "nl")}
            elif q.answer.kind == "biggest_loss":
                key = "small_stops" if c == "small_stops" else f"state.{c}"
                label = {lang: words(key, lang) for lang in ("en", "nl")}
            else:
                label = {"en": c, "nl": c}
            out.append(Choice(code=c, label=label))
        return out


def recipes_dir() -> Path:
    """The recipes: package data of `fieldlab.recipes` (FIELDLAB_RECIPES: a folder of your own)."""
    env = os.environ.get("FIELDLAB_RECIPES")
    return Path(env) if env else recipes_dir_of_kit()


def recipes_dir_of_kit() -> Path:
    """The kit's own recipes (and question templates), whatever FIELDLAB_RECIPES says."""
    return Path(str(resources.files("fieldlab.recipes")))


def recipe_names(root: Path | None = None) -> list[str]:
    root = root or recipes_dir()
    return sorted(p.name for p in root.iterdir() if (p / "recipe.yaml").is_file())


def load_recipe(name: str, root: Path | None = None) -> Recipe:
    path = (root or recipes_dir()) / name / "recipe.yaml"
    if not path.is_file():
        raise ConfigError(f"no recipe {name!r}; try one of: {', '.join(recipe_names(root))}")
    try:
        return Recipe.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, str(path))) from None


@dataclass
class Window:
    label: str
    start: int
    end: int


def windows(recipe: Recipe, start: int) -> list[Window]:
    end = start + recipe.duration_ms
    out = [Window("shift", start, end)]
    if recipe.split_at:
        mid = start + parse_duration_ms(recipe.split_at)
        out += [Window("before", start, mid), Window("after", mid, end)]
    return out


def truth_samples(recipe: Recipe) -> tuple[list[Sample], int]:
    """Play the recipe as fast as the CPU allows, no faces: the ground truth."""
    sim = Simulation(recipe.scenario, speed=math.inf, step_ms=600_000)
    collected: list[Sample] = []

    async def go() -> None:
        end = sim.start_ms + recipe.duration_ms
        while sim.sim_now < end:
            collected.extend(await sim.step(min(end, sim.sim_now + 600_000)))
        await sim.stop()

    asyncio.run(go())
    return collected, sim.start_ms


def figures(r: OeeResult, iso: OeeResult) -> dict[str, Any]:
    def pct(x: float | None) -> float | None:
        return None if x is None else round(100 * x, 2)

    return {
        "classic": {
            "availability": pct(r.availability),
            "performance": pct(r.performance),
            "quality": pct(r.quality),
            "oee": pct(r.oee),
        },
        "iso_22400": {
            "availability": pct(iso.availability),
            "effectiveness": pct(iso.performance),
            "quality": pct(iso.quality),
            "oee": pct(iso.oee),
        },
        "total": r.total,
        "good": r.good,
        "scrap": r.scrap,
        "planned_min": round(r.planned_s / 60, 2),
        "coverage_pct": pct(r.coverage),
        "loss_min": {k: round(v / 60, 2) for k, v in r.losses_s.items()},
        "small_stop_min": round(r.small_stop_s / 60, 2),
        "top_reasons": [
            {
                "reason": x["reason"],
                "episodes": x["episodes"],
                "minutes": round(float(x["downtime_s"]) / 60, 2),
            }
            for x in r.reasons[:3]
        ],
    }


def answer_key(name: str, recipe: Recipe) -> dict[str, Any]:
    samples, start = truth_samples(recipe)
    site = recipe.scenario.site_config()
    hist = histories_from_samples(samples)
    key: dict[str, Any] = {
        "recipe": name,
        "seed": recipe.scenario.seed,
        "start": format_ts(start),
        "duration": recipe.duration,
        # how close `recipe check`'s measured figures must come to this key (not the margin of
        # a participant's answer: that is each question's `tolerance`)
        "live_check": {"ratios_pp": recipe.tolerance_pp, "counts": 0},
        "windows": {},
    }
    for w in windows(recipe, start):
        per: dict[str, Any] = {}
        for m in recipe.scenario.machines:

            def run(threshold: float, dialect: Dialect, m: str = m, w: Window = w) -> OeeResult:
                return site_oee(
                    hist[m],
                    site,
                    w.start,
                    w.end,
                    now=w.end,
                    micro_stop_threshold_s=threshold,
                    dialect=dialect,
                )

            base = site.oee.micro_stop_threshold_s
            entry = figures(run(base, "classic"), run(base, "iso"))
            per_order = oee_per(hist[m], site, "order", w.start, w.end, now=w.end)
            if per_order:  # operators started orders (#29): `recipe check` compares each
                entry["orders"] = {
                    order: {
                        "total": r.total,
                        "good": r.good,
                        "scrap": r.scrap,
                        "oee": None if r.oee is None else round(100 * r.oee, 2),
                    }
                    for order, r in per_order
                }
            if recipe.thresholds and w.label == "shift":
                entry["by_threshold"] = {
                    str(int(t)): {
                        k: v
                        for k, v in figures(run(t, "classic"), run(t, "iso"))["classic"].items()
                    }
                    for t in recipe.thresholds
                }
            per[m] = entry
        key["windows"][w.label] = {
            "from": format_ts(w.start),
            "to": format_ts(w.end),
            "machines": per,
        }
    if recipe.questions:
        key["questions"] = question_answers(recipe, TruthEvidence(samples, site), start)
    return key


def question_answers(recipe: Recipe, ev: Evidence, start: int) -> dict[str, Any]:
    """Every question's answer as this evidence has it (the truth for the key, the store for
    `recipe check`)."""
    out: dict[str, Any] = {}
    machines = list(recipe.scenario.machines)
    for q in recipe.questions:
        codes = [c.code for c in recipe.choices(q)]
        value = derive(q.answer, ev, machines, start, recipe.duration_ms, codes)
        if codes and value not in codes:
            raise ConfigError(
                f"question {q.id}: the answer {value!r} is not one of its choices {codes}"
            )
        out[q.id] = {
            "answer": value,
            "form": q.answer.form,
            "tolerance": q.tolerance,
            "opens": q.at,
        }
    return out


def question_problems(recipe: Recipe, key: dict[str, Any], measured: dict[str, Any]) -> list[str]:
    """Answers the store gives that a participant reading it right would be marked wrong for."""
    problems = []
    tz = recipe.scenario.site_config().tz
    for q in recipe.questions:
        want = key.get("questions", {}).get(q.id)
        if want is None:
            problems.append(f"question {q.id}: not in the answer key (run `recipe answers`)")
            continue
        got = measured[q.id]["answer"]
        exq = _exercise_question(recipe, q, want["answer"], 0)
        given = str(got) if q.answer.form in ("choice", "count") else exq.written(got, "en", tz)
        if grade(q.answer.form, want["answer"], given, q.tolerance, tz) != "right":
            problems.append(
                f"question {q.id}: the store gives {given} vs key "
                f"{exq.written(want['answer'], 'en', tz)} (±{q.tolerance})"
            )
    return problems


def _exercise_question(recipe: Recipe, q: Question, answer: Any, start: int) -> ExerciseQuestion:
    return ExerciseQuestion(
        id=q.id,
        opens_ms=start + parse_duration_ms(q.at),
        ask=q.ask,
        hint=q.hint,
        explain=q.explain,
        form=q.answer.form,
        tolerance=q.tolerance,
        choices=recipe.choices(q),
        answer=answer,
    )


def exercise(
    name: str, recipe: Recipe, key: dict[str, Any], start: int, *, self_paced: bool = False
) -> Exercise:
    """What the exercise and trainer pages of one run read (`exercise.json`)."""
    answers = key.get("questions", {})
    missing = [q.id for q in recipe.questions if q.id not in answers]
    if missing:
        raise ConfigError(
            f"recipe {name}: no answers for {', '.join(missing)}; run `fieldlab recipe answers "
            f"{name}`"
        )
    return Exercise(
        recipe=name,
        run=f"{name}@{start}",
        title=recipe.title,
        goal=recipe.goal,
        timezone=str(recipe.scenario.site_config().tz),
        start_ms=start,
        end_ms=start + recipe.duration_ms,
        self_paced=self_paced,
        questions=[
            _exercise_question(recipe, q, answers[q.id]["answer"], start) for q in recipe.questions
        ],
    )


#: How a participant answers, as every handout says it (`recipe new` writes it; `recipe check`
#: fails a handout of a recipe with questions that does not say how to open the Exercise page)
ANSWERING = {
    "en": "Open the dashboard (the trainer gives you the address) to watch the shift live. Answer "
    "the questions on the *Exercise* page: the dashboard's address followed by `/exercise` (the "
    "trainer shows it when the run starts); give your name, and the next question appears once "
    "you have answered one. Read the figures for the period *Today*: they stay on screen until "
    "the end of the workshop.",
    "nl": "Open het dashboard (de trainer geeft het adres) om de ploeg live te volgen. Beantwoord "
    "de vragen op de pagina *Opdracht*: het adres van het dashboard met `/exercise` erachter (de "
    "trainer toont het bij de start); vul je naam in, en de volgende vraag verschijnt zodra je er "
    "een hebt beantwoord. Lees de cijfers voor de periode *Vandaag*: die blijven tot het eind van "
    "de workshop op het scherm.",
}


def handout_problems(recipe: Recipe, key: dict[str, Any], handouts: dict[str, str]) -> list[str]:
    """What a participant reads before answering a question never gives its answer away, and
    points to figures that stay. Read before question Q: the handouts, and the questions before
    Q with their hints (one question shows at a time). None of it holds Q's answer as a number
    (as either language writes it) or a time, nor a sentence that names some of a choice
    question's options but not all (a line's machines listed is fine; "the welder breaks down
    most" is not, nor "why would improving the packer not help?", which rules the packer out).
    Each handout of a recipe with questions says how to open the Exercise page, and no hint or
    handout sends people to the current shift, whose figures are gone when the shift ends."""
    problems = []
    tz = recipe.scenario.site_config().tz
    moving = {lang: words("period.current_shift", lang).casefold() for lang in ("en", "nl")}
    for lang, text in handouts.items():
        if recipe.questions and "/exercise" not in text:
            problems.append(f"handout.{lang}.md does not say how to open the Exercise page")
        if moving[lang] in text.casefold():
            problems.append(f"handout.{lang}.md points to the current shift: use Today or Custom")
    for q in recipe.questions:
        for lang in ("en", "nl"):
            if moving[lang] in q.hint[lang].casefold():
                problems.append(f"question {q.id}: its {lang} hint points to the current shift")
    seen: list[tuple[str, str]] = [(f"handout.{lang}.md", t) for lang, t in handouts.items()]
    for q in recipe.questions:
        want = key.get("questions", {}).get(q.id)
        if want is not None:
            problems += _give_aways(recipe, q, want["answer"], seen, tz)
        seen += [
            (f"question {q.id} ({lang})", f"{q.ask[lang]}\n{q.hint[lang]}") for lang in ("en", "nl")
        ]
    return problems


def _give_aways(
    recipe: Recipe, q: Question, answer: Any, seen: list[tuple[str, str]], tz: Any
) -> list[str]:
    problems = []
    exq = _exercise_question(recipe, q, answer, 0)
    for where, text in seen:
        low = re.sub(r"`[^`]*`", "", text).casefold()  # commands are not sentences
        if q.answer.form == "choice":
            labels = {
                c.code: {c.code.casefold(), *(v.casefold() for v in c.label.values())}
                for c in exq.choices
            }
            for sentence in _sentences(low):
                names = {
                    code for code, ws in labels.items() if any(_word_in(w, sentence) for w in ws)
                }
                if names and names != set(labels):
                    problems.append(
                        f"{where} gives away question {q.id} "
                        f"({exq.label(str(answer), 'en')}): {sentence.strip()!r}"
                    )
            continue
        for written in _written_forms(exq, answer, tz):
            if _word_in(written.casefold(), low):
                problems.append(f"{where} contains the answer to question {q.id}: {written}")
                break
    return problems


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?:;])\s+|\n", text) if s.strip()]


def _word_in(word: str, text: str) -> bool:
    return re.search(rf"(?<![\w.,]){re.escape(word)}(?![\w]|[.,]\d)", text) is not None


def _written_forms(q: ExerciseQuestion, answer: Any, tz: Any) -> set[str]:
    if q.form == "time":
        return {q.written(answer, "en", tz)}
    x = float(answer)
    forms = {f"{x:.1f}", f"{x:.1f}".replace(".", ",")}
    if q.form == "count" or (q.form == "percent" and x >= 10):
        forms |= {f"{round(x)} %", f"{round(x)}%"} if q.form == "percent" else {str(round(x))}
        if q.form == "count" and x >= 1000:
            forms |= {f"{round(x):,}", f"{round(x):,}".replace(",", ".")}
    if q.form == "count":
        forms -= {f"{x:.1f}", f"{x:.1f}".replace(".", ",")}
    return forms


def dump(key: dict[str, Any]) -> str:
    """Byte-for-byte stable: sorted keys, fixed rounding, a final newline."""
    return json.dumps(key, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def trainer_sheet(recipe: Recipe, key: dict[str, Any], lang: str) -> str:
    nl = lang == "nl"
    lg: Lang = "nl" if nl else "en"
    site = recipe.scenario.site_config()
    lines = [
        f"# {recipe.title[lang]} — {'antwoordblad voor de trainer' if nl else 'trainer sheet'}",
        "",
        f"{'Leerdoel' if nl else 'Learning goal'}: {recipe.goal[lang]}",
        "",
        f"Start: {key['start']} · {key['duration']} · seed {key['seed']}",
        "",
        "Een antwoord binnen de marge die bij het antwoord staat, telt als goed; zonder marge "
        "moet het precies kloppen."
        if nl
        else "An answer within the margin shown with it counts as right; without a margin it "
        "must be exact.",
        "",
    ]
    for label, w in key["windows"].items():
        lines += [
            f"## {label}: {w['from']} → {w['to']}",
            "",
            "| machine | OEE | "
            + " | ".join(
                words(f"letter.{k}", lg) for k in ("availability", "performance", "quality")
            )
            + " | ISO A | ISO E | "
            + ("goed | afkeur" if nl else "good | scrap")
            + " | "
            + ("top-3 redenen" if nl else "top 3 reasons")
            + " |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for m, f in w["machines"].items():
            c, i = f["classic"], f["iso_22400"]
            reasons = ", ".join(
                f"{site.reason_label(r['reason'], lg) if r['reason'] else '?'} "
                f"{r['minutes']:.0f} min"
                for r in f["top_reasons"]
            )

            def p(x: float | None) -> str:
                return "–" if x is None else f"{formats.number(x, lg, 1)} %"

            lines.append(
                f"| {m} | {p(c['oee'])} | {p(c['availability'])} | "
                f"{p(c['performance'])} | {p(c['quality'])} | {p(i['availability'])} | "
                f"{p(i['effectiveness'])} | {formats.number(f['good'], lg, 0)}"
                f" | {formats.number(f['scrap'], lg, 0)} | {reasons} |"
            )
        lines.append("")
        for m, f in w["machines"].items():
            losses = ", ".join(
                f"{words(f'state.{k}', lg)} {v:.0f}" for k, v in f["loss_min"].items() if v
            )
            lines.append(
                f"- {m}: {'verlies (min)' if nl else 'losses (min)'}: {losses or '–'}; "
                f"{'korte stops' if nl else 'small stops'} {f['small_stop_min']:.0f} min"
            )
            for t, byt in f.get("by_threshold", {}).items():
                lines.append(
                    f"  - {'grens' if nl else 'threshold'} {t} s: A {p(byt['availability'])}"
                    f", P {p(byt['performance'])}, OEE {p(byt['oee'])}"
                )
        lines.append("")
    answers = key.get("questions", {})
    if recipe.questions and answers:
        tz = recipe.scenario.site_config().tz
        lines += [f"## {'Vragen' if nl else 'Questions'}", ""]
        for i, q in enumerate(recipe.questions, start=1):
            exq = _exercise_question(recipe, q, answers[q.id]["answer"], 0)
            margin = f" ({exq.margin(lg)})" if exq.margin(lg) else ""
            lines += [
                f"{i}. **{q.ask[lang]}** ({'vanaf' if nl else 'from'} +{q.at})",
                f"   - {'Antwoord' if nl else 'Answer'}: **{exq.written(exq.answer, lg, tz)}**"
                f"{margin}",
                f"   - {'Tip' if nl else 'Hint'}: {q.hint[lang]}",
                f"   - {'Uitleg' if nl else 'Explanation'}: {exq.explanation(lg, tz)}",
            ]
        lines.append("")
    return "\n".join(lines)


def write_answers(name: str, root: Path | None = None) -> dict[str, Any]:
    root = root or recipes_dir()
    recipe = load_recipe(name, root)
    key = answer_key(name, recipe)
    (root / name / "answers.json").write_text(dump(key), encoding="utf-8")
    for lang in ("nl", "en"):
        (root / name / f"trainer.{lang}.md").write_text(
            trainer_sheet(recipe, key, lang), encoding="utf-8"
        )
    return key


def compare(
    key: dict[str, Any],
    results: dict[str, dict[str, OeeResult]],
    tolerance_pp: float,
    orders: dict[str, dict[str, dict[str, OeeResult]]] | None = None,
) -> list[str]:
    """Differences beyond tolerance between the answer key and measured results
    (window label → machine → result; ``orders``: window label → machine → order → result);
    empty when everything is within it."""
    problems = []
    for label, w in key["windows"].items():
        for m, f in w["machines"].items():
            problems += _order_problems(
                f"{label} {m}", f.get("orders", {}), (orders or {}).get(label, {}).get(m, {}),
                tolerance_pp,
            )  # fmt: skip
            r = results[label][m]
            wanted = {**f["classic"], "coverage": f.get("coverage_pct")}
            for k in ("availability", "performance", "quality", "oee", "coverage"):
                want = wanted[k]
                got = getattr(r, k)
                got = None if got is None else 100 * got
                if (want is None) != (got is None) or (
                    want is not None and abs(got - want) > tolerance_pp
                ):
                    problems.append(
                        f"{label} {m} {k}: {got if got is None else round(got, 2)} "
                        f"vs key {want} (±{tolerance_pp} pp)"
                    )
            for k in ("total", "good", "scrap"):
                if f[k] is not None and getattr(r, k) != f[k]:
                    problems.append(f"{label} {m} {k}: {getattr(r, k)} vs key {f[k]} (exact)")
    return problems


def _order_problems(
    where: str, wanted: dict[str, Any], got: dict[str, OeeResult], tolerance_pp: float
) -> list[str]:
    """Per order (#29): the same orders, each unit counted, OEE within the tolerance."""
    if set(wanted) != set(got):
        return [f"{where} orders: {sorted(got)} vs key {sorted(wanted)}"]
    out = []
    for order, f in wanted.items():
        r = got[order]
        for k in ("total", "good", "scrap"):
            if f[k] is not None and getattr(r, k) != f[k]:
                out.append(f"{where} order {order} {k}: {getattr(r, k)} vs key {f[k]}")
        oee = None if r.oee is None else 100 * r.oee
        if (oee is None) != (f["oee"] is None) or (
            oee is not None and abs(oee - f["oee"]) > tolerance_pp
        ):
            out.append(f"{where} order {order} OEE: {oee} vs key {f['oee']} (±{tolerance_pp} pp)")
    return out
