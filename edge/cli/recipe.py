"""`fieldlab recipe list | show | run | check | answers | new`: the arguments and what is printed;
the workshop itself is `fieldlab.workshop`, imported when a command runs (not at `--help`)."""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import threading
from pathlib import Path

from fieldlab.cli.common import speed_arg, subcommand
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


def _root(args: argparse.Namespace) -> Path | None:
    """`--recipes FOLDER`: a folder of the user's own recipes, for this command."""
    folder: Path | None = getattr(args, "recipes", None)
    return folder.resolve() if folder is not None else None


def run_list(args: argparse.Namespace) -> int:
    from fieldlab.workshop.recipes import load_recipe, recipe_names

    lang = detect_lang(getattr(args, "lang", None))
    for name in recipe_names(_root(args)):
        r = load_recipe(name, _root(args))
        print(f"{name:14s} {r.title[lang]}")
        print(f"{'':14s} {r.goal[lang]}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from fieldlab.workshop.recipes import load_recipe, recipes_dir

    load_recipe(args.name, _root(args))
    lang = detect_lang(args.lang)
    folder = (_root(args) or recipes_dir()) / args.name
    print((folder / f"handout.{lang}.md").read_text(encoding="utf-8"))
    return 0


def run_new(args: argparse.Namespace) -> int:
    from fieldlab.workshop.new import new_recipe

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
    from fieldlab.workshop.recipes import recipes_dir, write_answers

    write_answers(args.name, _root(args))
    folder = (_root(args) or recipes_dir()) / args.name
    print(f"wrote {folder}/answers.json, trainer.nl.md, trainer.en.md")
    return 0


def run_run(args: argparse.Namespace) -> int:
    from fieldlab.workshop.run import RecipeRun, lan_address

    lang = detect_lang(args.lang)

    def prepare() -> RecipeRun:
        return RecipeRun.prepare(
            args.name,
            root=_root(args),
            speed=args.speed,
            mqtt_url=args.mqtt,
            lang=args.lang,
            workdir=args.workdir,
            host=args.host,
            self_paced=args.self_paced,
        )

    def waiting(at: str, ids: list[str]) -> None:
        print(f"  {t('recipe.waiting', lang, at=at, ids=', '.join(ids))}", flush=True)

    async def main(run: RecipeRun) -> int:
        stack, ex = run.stack, run.exercise
        await stack.start()
        assert stack.sim is not None
        sim = stack.sim
        loop = asyncio.get_running_loop()
        on_stop_signals(loop, sim.request_stop)  # before anything says "ready"
        print(f"fieldlab recipe run {args.name}: {run.recipe.title[lang]}")
        for line in stack.endpoints(lang):
            print(f"  {line}")
        if ex is not None:
            host = stack.dashboard_url.replace("127.0.0.1", lan_address(args.host))
            who = t("recipe.participants", lang)
            code_words = t("recipe.code", lang, code=run.trainer_code)
            print(f"  {t('recipe.exercise', lang):<10} {host}/exercise  ({who})")
            print(f"  {t('recipe.trainer', lang):<10} {host}/trainer  {code_words}")
        for hint in room_hints(args.host, lan_address(args.host), stack.ports.dashboard, lang):
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
                        lambda: sim.resume() if sim.clock.paused else sim.pause()
                    )
                elif cmd == "r":
                    loop.call_soon_threadsafe(restart.set)
                    loop.call_soon_threadsafe(sim.request_stop)
                elif cmd == "q":
                    loop.call_soon_threadsafe(sim.request_stop)
                    return

        if sys.stdin and sys.stdin.isatty():
            threading.Thread(target=keys, daemon=True).start()
        try:
            await run.play(args.self_paced, waiting)
            if ex is not None and args.self_paced and not sim.stopping:
                goal, *taught = run.learned("nl" if lang == "nl" else "en")
                print("", goal, *(f"  - {line}" for line in taught), sep="\n")
            if ex is not None and not sim.stopping:
                # the last questions open at the end: participants still answer them
                print(f"  {t('recipe.ended', lang)}", flush=True)
                while not sim.stopping:
                    await asyncio.sleep(0.5)
        finally:  # Ctrl-C on Windows arrives as KeyboardInterrupt here: stop all the same
            if opener is not None:
                opener.cancel()
            await stack.stop()
        return 3 if restart.is_set() else 0

    run = prepare()
    while True:
        try:
            rc = asyncio.run(main(run))
        finally:
            saved = run.save_results(lang)
            print(f"fieldlab recipe run {args.name}: {t('recipe.stopped', lang)}", flush=True)
            print(f"  {t('recipe.kept', lang, folder=run.stack.workdir)}", flush=True)
            for path in saved:
                print(f"    {path.name}", flush=True)
        if rc != 3:
            return rc
        run = prepare()
        print(t("recipe.restarting", lang, folder=run.stack.workdir), flush=True)


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


def run_check(args: argparse.Namespace) -> int:
    import logging

    from fieldlab.workshop.check import check

    logging.basicConfig(level=logging.ERROR)
    result = check(
        args.name,
        root=_root(args),
        speed=args.speed or math.inf,
        mqtt_url=args.mqtt,
        workdir=args.workdir,
        lang=args.lang,
    )
    if args.json:
        print(result.to_json())
        return 0 if result.ok else 1
    for label, per in result.measured.items():
        for m, r in per.items():
            want = result.key["windows"][label]["machines"][m]["classic"]["oee"]
            print(
                f"{args.name} {label:7s} {m:10s} OEE {100 * (r.oee or 0):6.2f} % "
                f"(key {want:6.2f} %)  good {r.good}"
            )
    lang = detect_lang(args.lang)
    for qid, v in result.answers.items():
        want = result.key["questions"][qid]["answer"]
        print(f"{args.name} {t('recipe.check_q', lang, id=qid, got=v['answer'], want=want)}")
    verdict = t("recipe.check_ok" if result.ok else "recipe.check_different", lang)
    print("\n".join([verdict, *result.problems]))
    return 0 if result.ok else 1
