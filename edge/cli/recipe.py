"""`fieldlab recipe list | show | run | check | answers`: workshop recipes with answer keys."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import sys
import threading
from pathlib import Path
from typing import Any

from fieldlab.cli.common import speed_arg, subcommand
from fieldlab.dashboards.settings import DashboardSettings
from fieldlab.i18n import Lang, detect_lang, t
from fieldlab.process import on_stop_signals

HELP = "Workshop recipes: list, show, run for a room, check against the answer key."
EPILOG = """\
examples:
  fieldlab recipe list
  fieldlab recipe show kleine-stops --lang nl
  fieldlab recipe run eerste-stap              # 8 h in 15 min; p Enter pauses, r Enter resets
  fieldlab recipe run knelpunt --host 0.0.0.0  # a room: participants open …/exercise
  fieldlab recipe run kwaliteit --self-paced   # waits at each question until it is answered
  fieldlab recipe check knelpunt               # as fast as the machine allows, full path
  fieldlab recipe answers knelpunt             # (trainers) write answers.json and trainer sheets"""


def register(sub: argparse._SubParsersAction) -> None:
    p = subcommand(sub, "recipe", HELP, EPILOG)
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("list", help="the recipes and their learning goals").set_defaults(
        run=run_list
    )
    show = actions.add_parser("show", help="a recipe's handout")
    show.add_argument("name")
    show.add_argument("--lang", choices=("en", "nl"), default=None)
    show.set_defaults(run=run_show)
    for name, helptext, fn in (
        ("run", "play it for a room (dashboard, clock, pause/reset)", run_run),
        ("check", "play it through the full path and compare with the answer key", run_check),
    ):
        a = actions.add_parser(name, help=helptext)
        a.add_argument("name")
        a.add_argument(
            "--speed",
            type=speed_arg,
            default=None,
            help="simulated time factor (run: the recipe's, check: max)",
        )
        a.add_argument("--workdir", type=Path, default=None)
        a.add_argument("--mqtt", metavar="URL", help="a broker to use instead of the embedded one")
        a.add_argument("--json", action="store_true", help="check: print the comparison as JSON")
        a.add_argument("--lang", choices=("en", "nl"))
        a.add_argument("--no-browser", action="store_true")
        if name == "run":
            a.add_argument(
                "--host",
                default="127.0.0.1",
                help="where the dashboard listens: 0.0.0.0 serves a room of laptops on this "
                "network (default: this computer only)",
            )
            a.add_argument(
                "--self-paced",
                action="store_true",
                help="pause at each question until it is answered on the Exercise page, and "
                "end with what was learned (one participant, or a room at one pace)",
            )
        a.set_defaults(run=fn)
    ans = actions.add_parser("answers", help="(re)write answers.json and the trainer sheets")
    ans.add_argument("name")
    ans.set_defaults(run=run_answers)
    new = actions.add_parser(
        "new",
        help="make a recipe from a scenario and question templates (no Python)",
        description="Writes FOLDER/NAME: recipe.yaml, handouts in Dutch and English, and the "
        "answer key found in the simulated truth. Edit the texts, then `fieldlab recipe check "
        "NAME --recipes FOLDER` plays it through the full path.",
    )
    new.add_argument("name", help="the recipe's folder name, e.g. mijn-pers")
    new.add_argument("--scenario", type=Path, required=True, help="a simulator scenario file")
    new.add_argument(
        "--questions",
        default=None,
        help="comma-separated templates: oee, availability, quality, good, scrap, small_stops, "
        "top_reason, lowest_oee (default: oee,good,top_reason and lowest_oee for a line)",
    )
    new.add_argument("--machine", help="the machine the questions ask about (default: the first)")
    new.add_argument("--duration", default="8h", help="how long it plays, e.g. 8h (default)")
    new.add_argument("--title", help="the recipe's title (default: from its name)")
    new.set_defaults(run=run_new)
    for action in actions.choices.values():
        action.add_argument(
            "--recipes",
            type=Path,
            metavar="FOLDER",
            help="a folder of your own recipes (default: the kit's; new: the current folder)",
        )
        if action.get_default("run") is not run_new:
            action.set_defaults(run=_in_folder(action.get_default("run")))


def _in_folder(fn: Any) -> Any:
    """`--recipes FOLDER`: FIELDLAB_RECIPES for this command and the dashboard it starts."""

    def run(args: argparse.Namespace) -> int:
        if args.recipes is not None:
            import os

            os.environ["FIELDLAB_RECIPES"] = str(args.recipes.resolve())
        return int(fn(args))

    return run


def run_list(args: argparse.Namespace) -> int:

    from fieldlab.simulators.recipes import load_recipe, recipe_names

    lang = detect_lang(getattr(args, "lang", None))
    for name in recipe_names():
        r = load_recipe(name)
        print(f"{name:14s} {r.title[lang]}")
        print(f"{'':14s} {r.goal[lang]}")
    return 0


def run_show(args: argparse.Namespace) -> int:

    from fieldlab.simulators.recipes import load_recipe, recipes_dir

    load_recipe(args.name)
    lang = detect_lang(args.lang)
    print((recipes_dir() / args.name / f"handout.{lang}.md").read_text(encoding="utf-8"))
    return 0


def run_new(args: argparse.Namespace) -> int:
    from fieldlab.simulators.recipe_new import new_recipe

    root = (args.recipes or Path.cwd()).resolve()
    folder = new_recipe(
        args.name,
        args.scenario,
        root,
        template_names=[t.strip() for t in args.questions.split(",")] if args.questions else None,
        machine=args.machine,
        duration=args.duration,
        title=args.title,
    )
    lang = detect_lang()
    print(t("recipe.wrote", lang, folder=folder))
    print(t("recipe.next", lang, command=f"fieldlab recipe check {args.name} --recipes {root}"))
    return 0


def run_answers(args: argparse.Namespace) -> int:
    from fieldlab.simulators.recipes import recipes_dir, write_answers

    write_answers(args.name)
    print(f"wrote {recipes_dir() / args.name}/answers.json, trainer.nl.md, trainer.en.md")
    return 0


def _stack(args: argparse.Namespace, speed: float, dashboard: bool):
    import tempfile

    from fieldlab.simulators.recipes import load_recipe
    from fieldlab.stack import LocalStack

    recipe = load_recipe(args.name)
    workdir = args.workdir or (
        _run_folder(args.name)
        if dashboard
        else Path(tempfile.mkdtemp(prefix=f"fieldlab-{args.name}-"))
    )
    stack = LocalStack(
        recipe.scenario,
        workdir.resolve(),
        speed=speed,
        mqtt_url=args.mqtt,
        dashboard=dashboard,
        lang=args.lang,
    )
    return recipe, stack


def _run_folder(name: str) -> Path:
    """Where a workshop run keeps its data and every participant's answers: a folder of its own
    in the kit's data folder (config/paths.py), named for the recipe and the minute it
    started, kept after the run."""
    import datetime as dt

    from fieldlab.config.paths import data_dir

    stamp = dt.datetime.now().strftime("%Y-%m-%d_%H%M")
    base = data_dir() / "workshops" / f"{name}_{stamp}"
    folder, n = base, 2
    while folder.exists():
        folder, n = base.with_name(f"{base.name}_{n}"), n + 1
    return folder


def _save_results(ex: Any, stack: Any, lang: Lang) -> list[Path]:
    """The trainer's export, written into the run's folder when the run ends: the answers of
    every participant (CSV the reader's Excel opens, and Excel) and one summary page each."""
    import pandas as pd

    from fieldlab.dashboards.export import to_csv, to_xlsx
    from fieldlab.learning.progress import by_participant, rows, summary_html
    from fieldlab.store import SqliteStore, StoreError

    lg = lang
    if not stack.db_path.exists():
        return []  # stopped before anything was stored: nobody has answered
    try:
        with SqliteStore(stack.db_path, readonly=True) as store:
            people = by_participant(ex, store.attempts(ex.run))
    except StoreError:
        return []
    if not people:
        return []
    table = pd.DataFrame(rows(ex, people, lg))
    out = [stack.workdir / "answers.csv", stack.workdir / "answers.xlsx"]
    out[0].write_bytes(to_csv(table, lg))
    out[1].write_bytes(to_xlsx(table))
    for who, person in people.items():
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in who) or "participant"
        page = stack.workdir / f"summary-{safe}.html"
        page.write_text(summary_html(ex, person, lg), encoding="utf-8")
        out.append(page)
    return out


def _exercise_for(args: argparse.Namespace, recipe: Any, stack: Any) -> Any:
    """The run's exercise file for the dashboard's Exercise and Trainer pages, and the code
    that opens the Trainer page (printed for the trainer only)."""
    import secrets
    import time

    from fieldlab.domain.samples import parse_ts
    from fieldlab.simulators.recipes import exercise, recipes_dir

    key = json.loads((recipes_dir() / args.name / "answers.json").read_text(encoding="utf-8"))
    ex = exercise(args.name, recipe, key, parse_ts(key["start"]), self_paced=args.self_paced)
    ex.run = f"{args.name}@{int(time.time() * 1000)}"  # each run its own answers
    stack.workdir.mkdir(parents=True, exist_ok=True)
    path = stack.workdir / "exercise.json"
    ex.save(path)
    code = f"{secrets.randbelow(10_000):04d}"
    stack.dashboard_settings = DashboardSettings(exercise=path, trainer_code=code, clock="data")
    stack.dashboard_host = args.host
    return ex, code


async def _self_paced(stack: Any, ex: Any, end: int) -> None:
    """Play to each question's moment, pause until everyone who started has finished the
    questions open by then (and someone has), then play on; at the end, the same."""
    from fieldlab.learning.progress import by_participant
    from fieldlab.store import SqliteStore

    for opens in sorted({min(q.opens_ms, end) for q in ex.questions} | {end}):
        await stack.run(sim_until=opens)
        if stack.sim.stopping:
            return
        stack.sim.pause()
        due = [q.id for q in ex.questions if q.opens_ms <= opens]
        if due:
            waiting = t("recipe.waiting", detect_lang(), at=_clock(ex, opens), ids=", ".join(due))
            print(f"  {waiting}", flush=True)
        while due and not stack.sim.stopping:
            with SqliteStore(stack.db_path, readonly=True) as store:
                people = by_participant(ex, store.attempts(ex.run))
            if people and all(p.questions[q].finished for p in people.values() for q in due):
                break
            await asyncio.sleep(1)
        stack.sim.resume()
        if opens >= end:
            return


def _clock(ex: Any, ms: int) -> str:
    from fieldlab.domain.samples import from_ms

    return from_ms(ms).astimezone(ex.tz).strftime("%H:%M")


def _learned(recipe: Any, ex: Any, lang: str) -> None:
    lg = "nl" if lang == "nl" else "en"
    print("", recipe.goal[lg], sep="\n")
    for q in ex.questions:
        print(f"  - {q.explanation(lg, ex.tz)}")


def run_run(args: argparse.Namespace) -> int:
    recipe, stack = _stack(args, 1.0, dashboard=True)
    stack.speed = args.speed or recipe.speed
    ex, code = _exercise_for(args, recipe, stack) if recipe.questions else (None, "")

    async def main() -> int:
        await stack.start()
        loop = asyncio.get_running_loop()
        on_stop_signals(loop, stack.sim.request_stop)  # before anything says "ready"
        end = stack.sim.start_ms + recipe.duration_ms
        print(f"fieldlab recipe run {args.name}: {recipe.title[lang]}")
        for line in stack.endpoints(lang):
            print(f"  {line}")
        if ex is not None:
            host = stack.dashboard_url.replace("127.0.0.1", _lan_address(args.host))
            who, code_words = t("recipe.participants", lang), t("recipe.code", lang, code=code)
            print(f"  {t('recipe.exercise', lang):<10} {host}/exercise  ({who})")
            print(f"  {t('recipe.trainer', lang):<10} {host}/trainer  {code_words}")
        for hint in room_hints(args.host, _lan_address(args.host), stack.ports.dashboard, lang):
            print(f"  {hint}", flush=True)
        print(f"  {t('recipe.folder', lang, folder=stack.workdir)}", flush=True)
        if sys.stdin and sys.stdin.isatty():
            print(f"  {t('recipe.keys', lang)}", flush=True)
        else:  # started from a service or a script: no keyboard to read
            print(f"  {t('recipe.no_keys', lang)}", flush=True)
        opener = None if args.no_browser else asyncio.create_task(stack.open_browser_when_ready())
        restart = asyncio.Event()

        def keys() -> None:
            for line in sys.stdin:
                cmd = line.strip().lower()
                if cmd == "p":
                    loop.call_soon_threadsafe(
                        lambda: stack.sim.resume() if stack.sim.clock.paused else stack.sim.pause()
                    )
                elif cmd == "r":
                    loop.call_soon_threadsafe(restart.set)
                    loop.call_soon_threadsafe(stack.sim.request_stop)
                elif cmd == "q":
                    loop.call_soon_threadsafe(stack.sim.request_stop)
                    return

        if sys.stdin and sys.stdin.isatty():
            threading.Thread(target=keys, daemon=True).start()
        try:
            if ex is not None and args.self_paced:
                await _self_paced(stack, ex, end)
                if not stack.sim.stopping:
                    _learned(recipe, ex, lang)
            else:
                await stack.run(sim_until=end)
            if ex is not None and not stack.sim.stopping:
                # the last questions open at the end: participants still answer them
                print(f"  {t('recipe.ended', lang)}", flush=True)
                while not stack.sim.stopping:
                    await asyncio.sleep(0.5)
        finally:  # Ctrl-C on Windows arrives as KeyboardInterrupt here: stop all the same
            if opener is not None:
                opener.cancel()
            await stack.stop()
        return 3 if restart.is_set() else 0

    lang = detect_lang(args.lang)
    while True:
        try:
            rc = asyncio.run(main())
        finally:
            saved = _save_results(ex, stack, lang) if ex is not None else []
            print(f"fieldlab recipe run {args.name}: {t('recipe.stopped', lang)}", flush=True)
            print(f"  {t('recipe.kept', lang, folder=stack.workdir)}", flush=True)
            for path in saved:
                print(f"    {path.name}", flush=True)
        if rc != 3:
            return rc
        recipe, stack = _stack(args, args.speed or recipe.speed, dashboard=True)
        ex, code = _exercise_for(args, recipe, stack) if recipe.questions else (None, "")
        print(t("recipe.restarting", lang, folder=stack.workdir), flush=True)


def room_hints(host: str, address: str, port: int, lang: Lang) -> list[str]:
    """A room of laptops (`--host 0.0.0.0`) reaches this one only through its firewall: on
    Windows, Defender asks once and leaves *Public networks* unticked, and a participant then
    just times out. Say so, and how to check it from a participant's laptop."""
    if host not in ("0.0.0.0", "::"):
        return []
    check = (
        f"Test-NetConnection {address} -Port {port}"
        if sys.platform == "win32"
        else f"curl -sI http://{address}:{port}"
    )
    lines = [t("recipe.room", lang, port=port), t("recipe.room_check", lang, command=check)]
    if sys.platform == "win32":
        lines.insert(1, t("recipe.room_windows", lang))
    return lines


def _lan_address(host: str) -> str:
    """The address laptops in the room use, when the dashboard listens on all of them."""
    if host not in ("0.0.0.0", "::"):
        return host
    import socket

    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing address
        return str(s.getsockname()[0])
    return "127.0.0.1"


def run_check(args: argparse.Namespace) -> int:
    import logging

    from fieldlab.config import load_site_config
    from fieldlab.domain.samples import parse_ts
    from fieldlab.kpi.orders import order_runs
    from fieldlab.kpi.query import store_oee
    from fieldlab.learning.derive import StoreEvidence
    from fieldlab.simulators.recipes import (
        compare,
        handout_problems,
        question_answers,
        question_problems,
        recipes_dir,
    )
    from fieldlab.store import SqliteStore

    logging.basicConfig(level=logging.ERROR)
    for name in ("asyncua", "amqtt", "pymodbus", "asyncio", "fieldlab"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    recipe, stack = _stack(args, args.speed or math.inf, dashboard=False)
    key = json.loads((recipes_dir() / args.name / "answers.json").read_text(encoding="utf-8"))

    async def play() -> None:
        await stack.start()
        end = stack.sim.start_ms + recipe.duration_ms
        await stack.run(sim_until=end)
        await stack.settle()
        await stack.stop()

    asyncio.run(play())
    site = load_site_config(stack.site_path)
    results: dict[str, dict] = {}
    orders: dict[str, dict] = {}
    with SqliteStore(stack.db_path, readonly=True) as store:
        for label, w in key["windows"].items():
            lo, hi = parse_ts(w["from"]), parse_ts(w["to"])
            results[label] = {m: store_oee(store, site, m, lo, hi, now=hi) for m in w["machines"]}
            orders[label] = {
                m: {o.order: o.result for o in order_runs(store, site, m, lo, hi, now=hi)}
                for m in w["machines"]
            }
    problems = compare(key, results, recipe.tolerance_pp, orders)
    measured_answers: dict[str, Any] = {}
    if recipe.questions:
        # every question's answer through the full path (simulator → protocol → gateway →
        # store), as a participant reading the dashboard finds it
        with SqliteStore(stack.db_path, readonly=True) as store:
            measured_answers = question_answers(
                recipe, StoreEvidence(store, site), parse_ts(key["start"])
            )
        problems += question_problems(recipe, key, measured_answers)
    root = recipes_dir() / args.name
    problems += handout_problems(
        recipe,
        key,
        {lang: (root / f"handout.{lang}.md").read_text(encoding="utf-8") for lang in ("nl", "en")},
    )
    if args.json:
        print(
            json.dumps(
                {
                    "recipe": args.name,
                    "ok": not problems,
                    "problems": problems,
                    "measured": {
                        label: {
                            m: {
                                k: None if getattr(r, k) is None else round(100 * getattr(r, k), 2)
                                for k in (
                                    "availability",
                                    "performance",
                                    "quality",
                                    "oee",
                                    "coverage",
                                )
                            }
                            | {"total": r.total, "good": r.good, "scrap": r.scrap}
                            for m, r in per.items()
                        }
                        for label, per in results.items()
                    },
                    "questions": {
                        qid: {"measured": v["answer"], "key": key["questions"][qid]["answer"]}
                        for qid, v in measured_answers.items()
                    },
                },
                indent=2,
            )
        )
    else:
        for label, per in results.items():
            for m, r in per.items():
                want = key["windows"][label]["machines"][m]["classic"]["oee"]
                print(
                    f"{args.name} {label:7s} {m:10s} OEE {100 * (r.oee or 0):6.2f} % "
                    f"(key {want:6.2f} %)  good {r.good}"
                )
        lang = detect_lang(args.lang)
        for qid, v in measured_answers.items():
            want = key["questions"][qid]["answer"]
            print(f"{args.name} {t('recipe.check_q', lang, id=qid, got=v['answer'], want=want)}")
        verdict = t("recipe.check_ok" if not problems else "recipe.check_different", lang)
        print("\n".join([verdict, *problems]))
    return 0 if not problems else 1
