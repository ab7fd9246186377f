"""Learning by doing, without a browser: reading answers as people write them, the verdicts,
handouts that must not give answers away, answers that come from the data (another seed, other
answers), and what the trainer's view and exports are made of."""

from __future__ import annotations

import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fieldlab.domain.learning import Attempt
from fieldlab.i18n import formats
from fieldlab.learning.grade import Unreadable, grade, read_number, read_time
from fieldlab.learning.progress import by_participant, by_question, rows, summary_html
from fieldlab.workshop.recipes import (
    exercise,
    handout_problems,
    load_recipe,
    question_answers,
    recipe_names,
    recipes_dir,
    truth_samples,
)

AMS = ZoneInfo("Europe/Amsterdam")


@pytest.mark.parametrize(
    "text,form,value",
    [
        ("70,3", "percent", 70.3),
        ("70.3", "percent", 70.3),
        ("70,3 %", "percent", 70.3),
        (" 70 ", "percent", 70.0),
        ("2.522", "count", 2522),  # a Dutch thousands point
        ("2,522", "count", 2522),  # an English thousands comma
        ("1.234,5", "minutes", 1234.5),
        ("1,234.5", "minutes", 1234.5),
        ("12,5 min", "minutes", 12.5),
    ],
)
def test_numbers_are_read_as_either_language_writes_them(text, form, value):
    assert read_number(text, form) == value


@pytest.mark.parametrize("text", ["", "abc", "7O", "--3", "1e5"])
def test_what_is_not_a_number_is_said_so(text):
    with pytest.raises(Unreadable):
        read_number(text, "percent")


def test_times_and_verdicts():
    assert read_time("9:05") == read_time("09.05") == read_time("0905") == 545
    with pytest.raises(Unreadable):
        read_time("25:00")
    nine = 1772438400000  # 2026-03-02 09:00 in Amsterdam
    assert grade("time", nine, "09:04", 5, AMS) == "right"
    assert grade("time", nine, "09:12", 5, AMS) == "close"
    assert grade("time", nine, "10:00", 5, AMS) == "wrong"
    assert grade("percent", 63.38, "63,4", 1.0, AMS) == "right"
    assert grade("percent", 63.38, "65", 1.0, AMS) == "close"  # within 3 × 1 pp + 2 %
    assert grade("percent", 63.38, "70", 1.0, AMS) == "wrong"
    assert grade("count", 2833, "2.833", 0, AMS) == "right"
    assert grade("count", 2833, "2850", 0, AMS) == "close"  # within 2 %
    assert grade("count", 2833, "3100", 0, AMS) == "wrong"
    assert grade("choice", "welder-1", "welder-1", 0, AMS) == "right"
    assert grade("choice", "welder-1", "packer-1", 0, AMS) == "wrong"


@given(
    x=st.floats(0, 100_000, allow_nan=False).map(lambda v: round(v, 1)),
    lang=st.sampled_from(["en", "nl"]),
    form=st.sampled_from(["percent", "minutes"]),
)
def test_an_answer_written_as_the_dashboard_writes_it_is_right(x, lang, form):
    """Whatever a participant copies from a page (2.522,5 or 2,522.5) is read back exactly."""
    shown = formats.number(x, lang, 1)
    assert read_number(shown, form) == pytest.approx(x)
    assert grade(form, x, shown, 0.05, AMS) == "right"


def key_of(name: str) -> dict:
    return json.loads((recipes_dir() / name / "answers.json").read_text(encoding="utf-8"))


def handouts(name: str) -> dict[str, str]:
    return {
        lang: (recipes_dir() / name / f"handout.{lang}.md").read_text(encoding="utf-8")
        for lang in ("nl", "en")
    }


@pytest.mark.parametrize("name", recipe_names())
def test_every_recipe_asks_four_questions_or_more_and_no_handout_gives_one_away(name):
    recipe = load_recipe(name)
    key = key_of(name)
    assert len(recipe.questions) >= 4
    assert set(key["questions"]) == {q.id for q in recipe.questions}
    assert handout_problems(recipe, key, handouts(name)) == []
    for q in recipe.questions:  # a hint and an explanation that teach, in both languages
        assert all(len(q.hint[lang]) > 30 and len(q.explain[lang]) > 30 for lang in ("en", "nl"))
        assert "{answer}" in q.explain["en"] and "{answer}" in q.explain["nl"]


def test_a_handout_that_names_the_answer_is_caught():
    """The knelpunt handout of before: it said which machine limits the line."""
    recipe, key = load_recipe("knelpunt"), key_of("knelpunt")
    told = handouts("knelpunt")
    told["en"] += "\nThe welder breaks down most and runs slowest.\n"
    told["nl"] = told["nl"].replace("## Zo werkt het", "De Lasser valt het vaakst uit.\n\n## Zo")
    problems = handout_problems(recipe, key, told)
    assert any("handout.en.md gives away question lowest-oee" in p for p in problems), problems
    assert any("handout.nl.md gives away question lowest-oee" in p for p in problems), problems
    # a number is an answer too, as either language writes it
    oee = key["questions"]["welder-oee"]["answer"]
    told = handouts("knelpunt")
    told["nl"] += "\nDe lijn haalt {} %.\n".format(f"{oee:.1f}".replace(".", ","))
    problems = handout_problems(recipe, key, told)
    written = f"{oee:.1f}".replace(".", ",")
    assert problems == [f"handout.nl.md contains the answer to question welder-oee: {written}"]


def test_wording_that_rules_a_choice_out_or_moves_away_is_caught():
    """#28: "why would improving the packer not raise the output?" told participants the packer
    is not the bottleneck; a question before another may not give its answer either; a hint to
    the current shift points at figures gone when the shift ends; a handout must say how to open
    the Exercise page."""
    recipe, key = load_recipe("knelpunt"), key_of("knelpunt")
    told = handouts("knelpunt")
    told["en"] += "\n2. Why would improving the packer not raise the line's output?\n"
    problems = handout_problems(recipe, key, told)
    assert any("handout.en.md gives away question lowest-oee" in p for p in problems), problems
    # a question shown before a choice question may not name one of its options: "What was
    # the welder's OEE?" before "Which machine has the lowest OEE?" tells the answer
    first, *rest = recipe.questions
    swapped = recipe.model_copy(update={"questions": [*rest, first]})
    problems = handout_problems(swapped, key, handouts("knelpunt"))
    assert any(
        p.startswith("question welder-oee (en) gives away question lowest-oee") for p in problems
    ), problems
    # the current shift, and no word of the Exercise page
    moved = recipe.model_copy(
        update={
            "questions": [
                first.model_copy(
                    update={
                        "hint": {
                            "en": "The overview, period 'Current shift'.",
                            "nl": "Het overzicht, periode 'Huidige ploeg'.",
                        }
                    }
                ),
                *rest,
            ]
        }
    )
    problems = handout_problems(moved, key, handouts("knelpunt"))
    assert "question lowest-oee: its en hint points to the current shift" in problems
    assert "question lowest-oee: its nl hint points to the current shift" in problems
    bare = {lang: text.replace("/exercise", "") for lang, text in handouts("knelpunt").items()}
    problems = handout_problems(recipe, key, bare)
    assert "handout.nl.md does not say how to open the Exercise page" in problems


def test_a_margin_is_said_one_way_everywhere():
    """#28: the tolerance was ±0.5 pp in the README and the trainer sheet's header and ±1 in the
    key: now each question's margin is written once (recipe.yaml) and shown by one function on
    the trainer sheet, the exercise page and its feedback, with a Dutch decimal comma."""
    ex = exercise("kwaliteit", load_recipe("kwaliteit"), key_of("kwaliteit"), 0)
    half = next(q for q in ex.questions if q.form == "percent" and q.tolerance == 0.5)
    assert (half.margin("nl"), half.margin("en")) == ("±0,5 pp", "±0.5 pp")
    assert next(q for q in ex.questions if q.form == "count").margin("nl") in ("", "±10")
    for name in recipe_names():
        sheet = (recipes_dir() / name / "trainer.nl.md").read_text(encoding="utf-8")
        assert "tolerantie" not in sheet and "±0.5" not in sheet
        for q in exercise(name, load_recipe(name), key_of(name), 0).questions:
            if q.margin("nl"):
                assert f"({q.margin('nl')})" in sheet, (name, q.id)


def test_answers_come_from_the_data_and_change_with_the_seed():
    recipe = load_recipe("eerste-stap")
    key = key_of("eerste-stap")["questions"]
    other = recipe.model_copy(deep=True)
    other.scenario.seed += 1
    samples, start = truth_samples(other)
    from fieldlab.learning.derive import TruthEvidence

    changed = question_answers(other, TruthEvidence(samples, other.scenario.site_config()), start)
    numbers = [q for q, v in key.items() if isinstance(v["answer"], int | float)]
    differ = [q for q in numbers if changed[q]["answer"] != key[q]["answer"]]
    assert len(differ) >= 3, (key, changed)


def test_the_trainers_view_is_made_from_the_attempts_alone():
    recipe, key = load_recipe("knelpunt"), key_of("knelpunt")
    ex = exercise("knelpunt", recipe, key, 1772427600000)
    run = ex.run

    def a(ts: int, who: str, q: str, given: str, verdict: str, hint: bool = False) -> Attempt:
        return Attempt(ts, run, who, q, given, verdict, hint)  # type: ignore[arg-type]

    attempts = [
        a(1, "Anne", "lowest-oee", "packer-1", "wrong"),
        a(2, "Anne", "lowest-oee", "welder-1", "right", True),
        a(3, "bram", "lowest-oee", "welder-1", "right"),
        a(4, "bram", "most-blocked", "welder-1", "wrong"),
        a(5, "Anne", "most-blocked", "packer-1", "wrong"),
        Attempt(6, "knelpunt@other", "Cees", "lowest-oee", "x", "wrong"),  # another run
    ]
    people = by_participant(ex, attempts)
    assert list(people) == ["Anne", "bram"]
    assert (people["Anne"].answered, people["Anne"].right_first, people["Anne"].solved) == (2, 0, 1)
    assert (people["bram"].answered, people["bram"].right_first) == (2, 1)
    hardest = by_question(ex, people)
    assert (hardest[0].question, hardest[0].wrong_first) == ("most-blocked", 2)
    table = rows(ex, people, "nl")
    assert len(table) == 2 * len(ex.questions) and "deelnemer" in table[0]
    page = summary_html(ex, people["Anne"], "nl")
    assert "Anne" in page and "Inpakker" in page and "Lasser" in page and "Uitleg" in page


def test_a_question_without_what_it_needs_names_file_and_key(tmp_path: Path):
    import shutil

    from fieldlab.config import ConfigError

    shutil.copytree(recipes_dir() / "eerste-stap", tmp_path / "mine")
    path = tmp_path / "mine" / "recipe.yaml"
    path.write_text(
        path.read_text().replace(
            "answer: {kind: reason_min, machine: press-1, reason: tool_break}",
            "answer: {kind: reason_min, machine: press-1}",
        )
    )
    with pytest.raises(ConfigError) as err:
        load_recipe("mine", tmp_path)
    assert "recipe.yaml" in str(err.value) and "questions" in str(err.value)
    assert "needs reason" in str(err.value)


SCENARIO = """\
site: mijn-lijn
timezone: Europe/Amsterdam
seed: 7
calendar:
  shifts: [{name: early, days: [mon, tue, wed, thu, fri], start: "06:00", end: "14:00"}]
machines:
  pers-1: {name: Pers, archetype: press, ideal_cycle_time_s: 6, behaviour: {mtbf_min: 120}}
  cnc-7: {name: CNC, archetype: cnc, ideal_cycle_time_s: 60}
events:
  - "09:00 pers-1 fault tool_break 30 min"
"""


@pytest.mark.slow
def test_recipe_new_makes_a_recipe_that_check_passes(tmp_path: Path):
    import subprocess
    import sys

    def fieldlab(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "fieldlab", "recipe", *args, "--recipes", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=300,
        )

    (tmp_path / "lijn.yaml").write_text(SCENARIO)
    bad = fieldlab("new", "x", "--scenario", str(tmp_path / "lijn.yaml"), "--questions", "oee,vibe")
    assert bad.returncode == 2 and "vibe" in bad.stderr and "top_reason" in bad.stderr
    made = fieldlab(
        "new", "mijn-lijn", "--scenario", str(tmp_path / "lijn.yaml"), "--duration", "3h"
    )
    assert made.returncode == 0, made.stderr
    recipe = load_recipe("mijn-lijn", tmp_path)
    assert [q.id for q in recipe.questions] == [
        "lowest-oee",
        "oee",
        "good",
        "top-reason",
    ]  # the choice first
    check = fieldlab("check", "mijn-lijn", "--json", "--workdir", str(tmp_path / "run"))
    assert check.returncode == 0, check.stdout + check.stderr
    result = json.loads(check.stdout)
    assert result["ok"] and set(result["questions"]) == {q.id for q in recipe.questions}


@pytest.mark.slow
def test_self_paced_waits_at_each_question_until_it_is_answered(tmp_path: Path):
    """The participant's answers reach the store as the Exercise page writes them (the page
    itself is the browser test's); the run waits for them, then plays on, then says what was
    learned."""
    import time

    from fieldlab.store import SqliteStore
    from tests.services import Process

    workdir = tmp_path / "self"
    args = ("recipe", "run", "eerste-stap", "--self-paced", "--no-browser", "--lang", "en")
    with Process(*args, "--speed", "3600", "--workdir", str(workdir)) as run:
        run.wait_for("waiting at 10:00 for answers to availability-4h", 120)
        time.sleep(3)  # it stays paused
        assert "waiting at 14:00" not in run.output
        ex = json.loads((workdir / "exercise.json").read_text())
        with SqliteStore(workdir / "fieldlab.db") as store:
            store.write_attempts([Attempt(1, ex["run"], "Sam", "availability-4h", "50", "wrong")])
            time.sleep(2)
            assert "waiting at 14:00" not in run.output  # one miss is not finished
            store.write_attempts([Attempt(2, ex["run"], "Sam", "availability-4h", "55", "right")])
            run.wait_for("waiting at 14:00 for answers to availability-4h, top-reason", 120)
            later = ["top-reason", "tool-break-min", "good", "oee"]
            store.write_attempts(
                [Attempt(3 + i, ex["run"], "Sam", q, "x", "right") for i, q in enumerate(later)]
            )
        run.wait_for("the recipe has ended", 60)
        assert (
            "Tool breaks cost 25,0 min" in run.output or "Tool breaks cost 25.0 min" in run.output
        )
        run.stop()
    # the run says it stopped and where its data and answers are: the trainer's export, kept
    assert "fieldlab recipe run eerste-stap: stopped" in run.output, run.output
    assert f"kept in {workdir}" in run.output
    csv = (workdir / "answers.csv").read_text(encoding="utf-8-sig")
    assert "Sam" in csv
    assert (workdir / "answers.xlsx").exists() and "Sam" in (
        workdir / "summary-Sam.html"
    ).read_text()
