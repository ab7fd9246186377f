"""`fieldlab recipe new`: a recipe from a scenario and a few question templates, without
writing Python. The answers are not typed: `write_answers` finds them in the simulated truth,
and `recipe check` plays the new recipe through the full path to see the dashboard agrees."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from fieldlab.config.loader import ConfigError, format_validation_error
from fieldlab.config.site import display_name
from fieldlab.learning.derive import TruthEvidence
from fieldlab.simulators.scenario import Scenario
from fieldlab.workshop.recipes import (
    ANSWERING,
    Recipe,
    recipe_names,
    recipes_dir_of_kit,
    truth_samples,
    write_answers,
)


#: template → (answer spec, tolerance, words). `{m}` is the machine's name.
def templates() -> dict[str, dict[str, Any]]:
    """recipes/question-templates.yaml: each template's answer kind, tolerance and words."""
    text = (recipes_dir_of_kit() / "question-templates.yaml").read_text(encoding="utf-8")
    return dict(yaml.safe_load(text))


DEFAULT = ("oee", "good", "top_reason", "lowest_oee")


def new_recipe(
    name: str,
    scenario_file: Path,
    root: Path,
    *,
    template_names: list[str] | None = None,
    machine: str | None = None,
    duration: str = "8h",
    title: str | None = None,
) -> Path:
    """Write ROOT/NAME (recipe.yaml, handouts) and its answer key; the folder."""
    if (root / name).exists():
        raise ConfigError(f"{root / name} exists already: choose another name or remove it")
    if name in recipe_names(recipes_dir_of_kit()):
        raise ConfigError(f"{name!r} is the name of one of the kit's recipes: choose another")
    raw = yaml.safe_load(scenario_file.read_text(encoding="utf-8")) or {}
    if raw.get("start", "now") == "now":
        raw["start"] = "2026-03-02T06:00"  # an answer key needs a day that does not move
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, str(scenario_file))) from None
    machines = list(scenario.machines)
    m = machine or machines[0]
    if m not in scenario.machines:
        raise ConfigError(f"--machine {m}: not in {scenario_file} ({', '.join(machines)})")
    known = templates()
    picked = template_names or [t for t in DEFAULT if t != "lowest_oee" or len(machines) > 1]
    unknown = [t for t in picked if t not in known]
    if unknown:
        raise ConfigError(
            f"unknown question template(s) {', '.join(unknown)}; choose from {', '.join(known)}"
        )
    shown = scenario.machines[m].name
    questions = []
    # a question choosing among the machines first: the ones about one machine name it, and
    # shown before it they would give its answer away (`recipe check` fails that)
    for t in sorted(picked, key=lambda t: known[t]["answer"]["kind"] != "lowest_oee"):
        spec = dict(known[t]["answer"])
        if spec["kind"] != "lowest_oee":
            spec["machine"] = m
        q: dict[str, Any] = {
            "id": t.replace("_", "-"),
            "at": duration,
            "answer": spec,
            "tolerance": known[t]["tolerance"],
            **{
                part: {
                    lang: text.replace("{m}", display_name(shown, lang, m))
                    for lang, text in known[t][part].items()
                }
                for part in ("ask", "hint", "explain")
            },
        }
        if spec["kind"] == "lowest_oee":
            q["choices"] = machines
        questions.append(q)
    title = title or name.replace("-", " ").capitalize()
    recipe: dict[str, Any] = {
        "title": {"en": title, "nl": title},
        "goal": {  # no machine named: a question may ask which one
            "en": "Read a day of these machines from their data: OEE, losses and their causes.",
            "nl": "Lees een dag van deze machines uit hun data: OEE, verliezen en hun oorzaken.",
        },
        "duration": duration,
        "questions": questions,
        "scenario": raw,
    }
    for q in questions:  # choose among the reasons that really occur (the answer among them)
        if q["answer"]["kind"] == "top_reason":
            q["choices"] = _reasons(Recipe.model_validate({**recipe, "questions": []}), m)
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "recipe.yaml").write_text(
        yaml.safe_dump(recipe, allow_unicode=True, sort_keys=False, width=100), encoding="utf-8"
    )
    words = {
        "en": ("Learning goal", "How it works", ANSWERING["en"]),
        "nl": ("Leerdoel", "Zo werkt het", ANSWERING["nl"]),
    }
    for lang, (heading, how, ask) in words.items():
        (folder / f"handout.{lang}.md").write_text(
            f"# {title}\n\n**{heading}:** {recipe['goal'][lang]}\n\n## {how}\n\n"
            f"`fieldlab recipe run {name}`. {ask}\n",
            encoding="utf-8",
        )
    try:
        write_answers(name, root)
    except (ValueError, ConfigError) as exc:
        import shutil

        shutil.rmtree(folder)
        raise ConfigError(
            f"{name}: a question has no answer in this scenario ({exc}); choose other "
            "templates (--questions) or another machine (--machine)"
        ) from None
    return folder


def _reasons(recipe: Recipe, machine: str, most: int = 6) -> list[str]:
    """The stop reasons of the machine in the simulated truth, at most `most` of the longest,
    in alphabetical order (the order gives nothing away)."""
    samples, start = truth_samples(recipe)
    ev = TruthEvidence(samples, recipe.scenario.site_config())
    found = ev.oee(machine, start, start + recipe.duration_ms, None).reasons
    named = [str(r["reason"]) for r in found if r["reason"]][:most]
    if not named:
        raise ConfigError(f"{machine} has no stop with a reason in this scenario: no top_reason")
    return sorted(named)
