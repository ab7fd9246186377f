"""`fieldlab oee`: OEE per machine over a window, as a table or domain.md §7 JSON."""

from __future__ import annotations

import argparse
import json

from fieldlab.cli.common import (
    UsageError,
    add_config_args,
    load_config,
    parse_time_arg,
    resolve_store,
    subcommand,
)
from fieldlab.i18n import detect_lang, t
from fieldlab.kpi.load import load_history
from fieldlab.kpi.output import render_table, to_json
from fieldlab.kpi.per import oee_per
from fieldlab.kpi.periods import PERIOD_NAMES, period_bounds
from fieldlab.kpi.query import machine_ids, store_now, store_oee

HELP = "Compute OEE, losses and stop reasons per machine from the store."
DESCRIPTION = """\
Compute OEE (availability × performance × quality), downtime by category and stop reasons
for each machine over a window, from the store, per domain.md §5: by default the current
shift so far, as the dashboard shows it (--period today|yesterday|week|month for its other
periods, or --from/--to for any window).

The window end is cut back to now: the later of the wall clock and the newest sample, so a
simulation running ahead of real time is measured in its own time (--now overrides it).
Times without an offset are read in the site's time zone."""
EPILOG = """\
examples:
  fieldlab oee --config site.yaml                          # all machines, this shift so far
  fieldlab oee -c site.yaml --period today                 # today so far
  fieldlab oee -c site.yaml --machine press-1 --from yesterday --to today
  fieldlab oee -c site.yaml --from 2026-03-02T06:00 --to 2026-03-02T14:00 --json
  fieldlab oee -c site.yaml --dialect iso --micro-stop-threshold 60
  fieldlab oee -c site.yaml --period week --by order           # a row per production order

JSON fields: planned_s run_s downtime_s small_stop_s availability performance quality oee
             total good scrap ideal_s losses_s reasons coverage energy flags
             (null = undefined ratio; coverage = share of planned time observed, not offline;
             flag counts_across_gap = units made while unobserved counted after the gap)"""


def register(sub: argparse._SubParsersAction) -> None:
    p = subcommand(sub, "oee", HELP, EPILOG, DESCRIPTION)
    add_config_args(p)
    p.add_argument(
        "--machine",
        "-m",
        action="append",
        metavar="ID",
        help="machine id; repeat for several; default all machines",
    )
    p.add_argument(
        "--period",
        choices=tuple(PERIOD_NAMES),
        help="the dashboard's periods: the current shift (default, as the dashboard), today, "
        "yesterday, this week or this month, up to now",
    )
    p.add_argument(
        "--from",
        dest="start",
        metavar="TS",
        help="window start instead of a period (today, yesterday, 2026-03-02T06:00, …)",
    )
    p.add_argument("--to", dest="end", metavar="TS", help="window end, exclusive (default: now)")
    p.add_argument("--now", metavar="TS", help="pretend it is this instant")
    p.add_argument(
        "--dialect",
        choices=("classic", "iso"),
        help="classic (Nakajima, default) or iso (ISO 22400-2)",
    )
    p.add_argument(
        "--micro-stop-threshold",
        type=float,
        metavar="SECONDS",
        help="stops shorter than this are small stops (default from config, 120)",
    )
    p.add_argument(
        "--by",
        choices=("order", "product"),
        help="figures per production order or per product (domain.md §5): a row for each one "
        "that ran in the window, over the instants it ran",
    )
    p.add_argument("--json", action="store_true", help="print JSON (one object, or a list)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    lang = detect_lang(args.lang)
    site, config_path = load_config(args)
    store = resolve_store(args, site, config_path, readonly=True)
    try:
        tz = site.tz
        now = store_now(store)
        if args.now:
            now = parse_time_arg(args.now, tz, now, "--now")
        if args.start is not None:
            start, end = parse_time_arg(args.start, tz, now, "--from"), now
        else:
            # the dashboard's default period, so both show the same figures
            start, end = period_bounds(PERIOD_NAMES[args.period or "shift"], now, site)
            end = min(end, now)
        if args.end is not None:
            end = parse_time_arg(args.end, tz, now, "--to")
        if end <= start:
            raise UsageError(
                t(
                    "cli.to_before_from",
                    lang,
                    end=args.end or "now",
                    start=args.start or args.period or "shift",
                )
            )
        machines = args.machine or machine_ids(store, site)
        if not machines:
            raise UsageError(t("cli.no_machines", lang))
        if args.by:
            results = [
                r
                for m in machines
                for _, r in oee_per(
                    load_history(store, m, start, end, now),
                    site,
                    args.by,
                    start,
                    end,
                    now=now,
                    micro_stop_threshold_s=args.micro_stop_threshold,
                    dialect=args.dialect,
                )
            ]
        else:
            results = [
                store_oee(
                    store,
                    site,
                    m,
                    start,
                    end,
                    now=now,
                    dialect=args.dialect,
                    micro_stop_threshold_s=args.micro_stop_threshold,
                )
                for m in machines
            ]
    finally:
        store.close()
    if args.json:
        objs = [to_json(r, tz) for r in results]
        print(json.dumps(objs[0] if len(objs) == 1 else objs, indent=2, ensure_ascii=False))
    else:
        print(render_table(results, tz, lang))
    return 0
