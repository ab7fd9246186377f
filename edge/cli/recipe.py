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

from fieldlab.cli.common import speed_arg, subcommand
from fieldlab.process import on_stop_signals

HELP = "Workshop recipes: list, show, run for a room, check against the answer key."
EPILOG = """\
examples:
  fieldlab recipe list
  fieldlab recipe show kleine-stops --lang nl
  fieldlab recipe run eerste-stap              # 8 h in 15 min; p Enter pauses, r Enter resets
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
        a.set_defaults(run=fn)
    ans = actions.add_parser("answers", help="(re)write answers.json and the trainer sheets")
    ans.add_argument("name")
    ans.set_defaults(run=run_answers)


def run_list(args: argparse.Namespace) -> int:
    from fieldlab.i18n import detect_lang
    from fieldlab.simulators.recipes import load_recipe, recipe_names

    lang = detect_lang(getattr(args, "lang", None))
    for name in recipe_names():
        r = load_recipe(name)
        print(f"{name:14s} {r.title[lang]}")
        print(f"{'':14s} {r.goal[lang]}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from fieldlab.i18n import detect_lang
    from fieldlab.simulators.recipes import load_recipe, recipes_dir

    load_recipe(args.name)
    lang = detect_lang(args.lang)
    print((recipes_dir() / args.name / f"handout.{lang}.md").read_text(encoding="utf-8"))
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
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix=f"fieldlab-{args.name}-"))
    stack = LocalStack(
        recipe.scenario,
        workdir.resolve(),
        speed=speed,
        mqtt_url=args.mqtt,
        dashboard=dashboard,
        lang=args.lang,
    )
    return recipe, stack


def run_run(args: argparse.Namespace) -> int:
    recipe, stack = _stack(args, 1.0, dashboard=True)
    stack.speed = args.speed or recipe.speed

    async def main() -> int:
        import webbrowser

        await stack.start()
        loop = asyncio.get_running_loop()
        on_stop_signals(loop, stack.sim.request_stop)  # before anything says "ready"
        end = stack.sim.start_ms + recipe.duration_ms
        print(f"fieldlab recipe run {args.name}: {recipe.title[args.lang or 'en']}")
        for line in stack.endpoints():
            print(f"  {line}")
        print("  trainer: p Enter pause/resume · r Enter restart · q Enter stop", flush=True)
        if not args.no_browser:
            with contextlib.suppress(Exception):
                webbrowser.open(stack.dashboard_url)
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
        await stack.run(sim_until=end)
        await stack.stop()
        return 3 if restart.is_set() else 0

    while True:
        code = asyncio.run(main())
        if code != 3:
            return code
        recipe, stack = _stack(args, args.speed or recipe.speed, dashboard=True)
        print("restarting the recipe from its start…", flush=True)


def run_check(args: argparse.Namespace) -> int:
    import logging

    from fieldlab.config import load_site_config
    from fieldlab.domain.samples import parse_ts
    from fieldlab.kpi.query import store_oee
    from fieldlab.simulators.recipes import compare, recipes_dir
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
    with SqliteStore(stack.db_path, readonly=True) as store:
        for label, w in key["windows"].items():
            lo, hi = parse_ts(w["from"]), parse_ts(w["to"])
            results[label] = {m: store_oee(store, site, m, lo, hi, now=hi) for m in w["machines"]}
    problems = compare(key, results, recipe.tolerance_pp)
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
        print("OK: within tolerance" if not problems else "\n".join(["DIFFERENT:", *problems]))
    return 0 if not problems else 1
