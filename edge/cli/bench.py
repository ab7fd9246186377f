"""`fieldlab bench NAME`: can this box keep up? The benchmarks of bench/ on your own hardware."""

from __future__ import annotations

import argparse
import json
import sys
import time

from fieldlab.cli.common import subcommand
from fieldlab.i18n import detect_lang, t

HELP = "Measure this machine: ingest, Modbus, OPC UA, OEE, dashboard, memory."
EPILOG = """\
examples:
  fieldlab bench list                     # what each benchmark measures
  fieldlab bench oee                      # OEE for 20 machines × 30 days (goal < 1 s)
  fieldlab bench ingest-mqtt modbus       # several in a row
  fieldlab bench all --json > bench.json  # all but year, one JSON object per benchmark
  fieldlab bench year                     # a year of 20 machines in SQLite (~5 minutes)
  fieldlab bench nodered --install        # against a Node-RED flow (npm, ~10 minutes)

Each benchmark prints its figure, a baseline measured in the same process and the same run
(a bare paho subscriber, a bare asyncua client, one Modbus request per field, a raw SQLite
read, a title-only page, a bare Python), the ratio, and whether its goal was met. Progress
goes to stderr, so --json output can be piped. Exit status 1 when a goal was missed.
ingest-mqtt and memory need Mosquitto (apt install mosquitto); nodered also InfluxDB 1.x and
Node.js, and installs Node-RED with its InfluxDB node into a cache folder of its own (never
into the kit) when given --install. docs/BENCHMARKS.md has the figures of the machine we ran
them on."""


def register(sub: argparse._SubParsersAction) -> None:
    from fieldlab.bench import BENCHES

    p = subcommand(sub, "bench", HELP, EPILOG)
    p.add_argument(
        "names",
        nargs="+",
        metavar="NAME",
        choices=[*BENCHES, "all", "list"],
        help=f"one or more of: {', '.join(BENCHES)}; all; list",
    )
    p.add_argument("--json", action="store_true", help="one JSON object per benchmark on stdout")
    p.add_argument(
        "--install",
        action="store_true",
        help="a benchmark against another tool (nodered) may install it from npm into "
        "FIELDLAB_CACHE or the platform's cache folder",
    )
    p.add_argument("--lang", choices=("en", "nl"))
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from fieldlab.bench import BENCHES, LONG, load

    lang = detect_lang(args.lang)
    if "list" in args.names:
        for name, (_, what) in BENCHES.items():
            print(f"{name:12} {what}")
        return 0
    names = (
        [n for n in BENCHES if n not in LONG]
        if "all" in args.names
        else list(dict.fromkeys(args.names))
    )
    missed = False
    for name in names:
        what = BENCHES[name][1]
        print(t("bench.start", lang, name=name, what=what), file=sys.stderr, flush=True)

        def progress(text: str) -> None:
            print(f"  … {text}", file=sys.stderr, flush=True)

        t0 = time.monotonic()
        module = load(name)
        try:
            options = {"install": args.install} if "install" in _parameters(module.run) else {}
            result = module.run(progress, **options)
        except Exception as exc:  # noqa: BLE001 - one failed benchmark must not hide the rest
            print(t("bench.failed", lang, name=name, error=exc), file=sys.stderr, flush=True)
            missed = True
            if args.json:
                print(json.dumps({"bench": name, "error": str(exc), "met": False}), flush=True)
            continue
        seconds = time.monotonic() - t0
        missed |= not result.get("met", True)
        if args.json:
            print(json.dumps({"bench": name, **result, "seconds": round(seconds, 1)}), flush=True)
            continue
        for line in module.report(result):
            print(f"  {line}")
        met = result.get("met", True)
        print(f"  {t('bench.met' if met else 'bench.missed', lang, seconds=seconds)}", flush=True)
    return 1 if missed else 0


def _parameters(fn: object) -> set[str]:
    import inspect

    return set(inspect.signature(fn).parameters)  # type: ignore[arg-type]
