"""`fieldlab demo`: the kit's first run on a laptop.

Today it writes a site config, back-fills a seeded week of machine history through the same
ingest path a file takes, and shows OEE. The live parts (protocol simulators, gateway, broker,
dashboard) join here as they land; the command's name and options stay.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from edge.cli.common import duration_arg
from edge.cli.ingest import ingest_file
from edge.config import load_site_config
from edge.domain.calendar import Calendar
from edge.i18n import detect_lang
from edge.interchange import write_jsonl
from edge.kpi.query import store_oee
from edge.kpi.report import render_table
from edge.store import SqliteStore
from simulators.synthetic import Profile, synthetic_samples

HELP = "Run the kit on this laptop: simulated machines, store and OEE (no Docker)."
DEMO_SITE = """\
# fieldlab demo site: written by `fieldlab demo`; edit it and run `fieldlab oee -c site.yaml`.
site: demo
timezone: Europe/Amsterdam
store: sqlite:///fieldlab.db
calendar:
  shifts:
    - {name: early, days: [mon, tue, wed, thu, fri], start: "06:00", end: "14:00"}
    - {name: late, days: [mon, tue, wed, thu, fri], start: "14:00", end: "22:00"}
  breaks:
    - {days: [mon, tue, wed, thu, fri], start: "10:00", end: "10:30"}
    - {days: [mon, tue, wed, thu, fri], start: "18:00", end: "18:30"}
oee:
  micro_stop_threshold_s: 120
machines:
  cnc-1: {name: CNC machining centre, ideal_cycle_time_s: 240}
  imm-1:
    name: Injection moulding
    ideal_cycle_time_s: 20
    products: {cap-red: {ideal_cycle_time_s: 18}, cap-blue: {ideal_cycle_time_s: 22}}
  filler-1: {name: Filler, ideal_cycle_time_s: 2}
  press-1:
    name: Press
    ideal_cycle_time_s: 6
    products: {A-100: {ideal_cycle_time_s: 5}, B-200: {ideal_cycle_time_s: 8}}
    counters: {count_total: {wrap: 65536}}
  laser-1: {name: Laser cutter, ideal_cycle_time_s: 45}
  lathe-1: {name: Old lathe (energy meter), ideal_cycle_time_s: 300}
"""
PROFILES = {
    "cnc-1": Profile(ideal_cycle_s=240, mean_run_s=1800, stop_mix=(0.4, 0.3, 0.2, 0.1)),
    "imm-1": Profile(ideal_cycle_s=20, products=("cap-red", "cap-blue"), scrap_rate=0.04),
    "filler-1": Profile(ideal_cycle_s=2, mean_run_s=180, stop_mix=(0.7, 0.05, 0.05, 0.2)),
    "press-1": Profile(ideal_cycle_s=6, products=("A-100", "B-200")),
    "laser-1": Profile(ideal_cycle_s=45, mean_run_s=900, scrap_rate=0.01),
    "lathe-1": Profile(ideal_cycle_s=300, mean_run_s=2400, scrap_rate=0.0),
}


def default_workdir() -> Path:
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    else:
        base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return base / "fieldlab" / "demo"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help=HELP,
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  fieldlab demo --workdir ./demo --history 7d --lang nl",
    )
    p.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help=f"where site.yaml, the database and truth.jsonl go (default {default_workdir()})",
    )
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument(
        "--history",
        type=duration_arg,
        default=duration_arg("7d"),
        help="simulated history to fill in before now (default 7d)",
    )
    p.add_argument("--lang", choices=("en", "nl"), help="language (default from LANG)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    lang = detect_lang(args.lang)
    workdir: Path = args.workdir or default_workdir()
    workdir.mkdir(parents=True, exist_ok=True)
    site_path = workdir / "site.yaml"
    site_path.write_text(DEMO_SITE, encoding="utf-8")
    site = load_site_config(site_path)
    db = workdir / "fieldlab.db"
    for stale in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        stale.unlink(missing_ok=True)
    now = int(time.time() * 1000)
    start = now - args.history
    truth = workdir / "truth.jsonl"
    planned = Calendar(site.calendar, site.tz).planned(start, now)
    with truth.open("w", encoding="utf-8") as fh:
        for i, (machine, profile) in enumerate(PROFILES.items()):
            samples = synthetic_samples(machine, profile, start, now, args.seed * 100 + i, planned)
            write_jsonl(samples, fh)
    print(f"fieldlab demo: {workdir}")
    print(f"  site config  {site_path}")
    print(f"  history      {truth}")
    with SqliteStore(db) as store:
        ingest_file(store, truth, lang=lang, quiet=True)
        results = [store_oee(store, site, m, start, now, now=now) for m in site.machines]
    print(f"  store        sqlite:///{db}\n")
    print(render_table(results, site.tz, lang))
    print(f"\nnext: fieldlab oee -c {site_path} --from yesterday --to today")
    return 0
