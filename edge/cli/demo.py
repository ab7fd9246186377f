"""`fieldlab demo`: the kit's main job on a laptop. Simulated machines on OPC UA, Modbus TCP and
MQTT, an embedded MQTT broker, the gateway, the SQLite store and the dashboard, in one command;
no Docker, no root. Ctrl-C stops all of it."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

from fieldlab.cli.common import command_name, speed_arg, subcommand
from fieldlab.domain.durations import duration_arg
from fieldlab.i18n import detect_lang, t
from fieldlab.process import on_stop_signals

HELP = "Run the kit on this laptop: simulated machines, broker, gateway, store, dashboard."
EPILOG = """\
examples:
  fieldlab demo                              # real time, a day of history, opens the browser
  fieldlab demo --speed 60 --lang nl         # an hour a minute, in Dutch
  fieldlab demo --for 60s --no-browser       # stop by itself (tests, CI)
  fieldlab demo --mqtt mqtt://127.0.0.1:1883 # use a broker that already runs

afterwards: fieldlab oee -c <workdir>/site.yaml   (the figures the dashboard shows)"""


def default_workdir() -> Path:
    from fieldlab.config.paths import data_dir

    return data_dir() / "demo"


def register(sub: argparse._SubParsersAction) -> None:
    p = subcommand(sub, "demo", HELP, EPILOG, __doc__)
    p.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help=f"where site.yaml, the database and truth.jsonl go (default {default_workdir()})",
    )
    p.add_argument("--speed", type=speed_arg, default=1.0, help="simulated time factor (default 1)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default the scenario's)")
    p.add_argument(
        "--for",
        dest="wall",
        type=duration_arg,
        metavar="DURATION",
        help="stop by itself after this much wall-clock time",
    )
    p.add_argument(
        "--history",
        type=duration_arg,
        default=duration_arg("1d"),
        help="simulated history filled in before now (default 1d; e.g. 7d)",
    )
    p.add_argument("--scenario", type=Path, help="scenario YAML (default: six machines)")
    p.add_argument("--mqtt", metavar="URL", help="use this broker instead of the embedded one")
    p.add_argument("--no-browser", action="store_true", help="do not open the dashboard")
    p.add_argument("--lang", choices=("en", "nl"), help="dashboard language")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from fieldlab.simulators.scenario import load_scenario
    from fieldlab.stack import LocalStack

    scenario = load_scenario(args.scenario)
    stack = LocalStack(
        scenario,
        (args.workdir or default_workdir()).resolve(),
        speed=args.speed,
        seed=args.seed,
        mqtt_url=args.mqtt,
        history_ms=args.history,
        dashboard=True,
        lang=args.lang,
    )
    return asyncio.run(_main(stack, args))


async def _main(stack, args: argparse.Namespace) -> int:
    import logging

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    for name in ("asyncua", "amqtt", "pymodbus", "asyncio"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    t0 = time.monotonic()
    lang = detect_lang()
    print(f"fieldlab demo: {t('demo.starting', lang)}", flush=True)
    try:
        await stack.start()
    except OSError as exc:
        print(f"fieldlab demo: {exc}", file=sys.stderr)
        await stack.stop()
        return 2
    loop = asyncio.get_running_loop()
    on_stop_signals(loop, stack.sim.request_stop)  # before anything says "ready"
    ready = t("demo.ready", lang, s=time.monotonic() - t0, n=len(stack.scenario.machines))
    print(f"fieldlab demo: {ready}", flush=True)
    for line in stack.endpoints(lang):
        print(f"  {line}", flush=True)
    print(f"  {t('demo.ctrl_c', lang)}", flush=True)
    opener = None if args.no_browser else asyncio.create_task(stack.open_browser_when_ready())
    try:
        await stack.run(wall_seconds=args.wall / 1000 if args.wall else None)
    finally:  # also on Windows' Ctrl-C, a KeyboardInterrupt that cancels this task
        if opener is not None:
            opener.cancel()
        await stack.stop()
        command = f"{command_name()} oee -c {stack.site_path}"
        stopped = t("demo.stopped", lang, dir=stack.workdir, command=command)
        print(f"fieldlab demo: {stopped}", flush=True)
    return 0
