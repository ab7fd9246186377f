"""`fieldlab config check|schema`: validate a site file, or print its JSON Schema for editors."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from fieldlab.cli.common import subcommand

HELP = "Check a site config, or print its JSON Schema."
EPILOG = """\
examples:
  fieldlab config check site.yaml
  fieldlab config schema > site.schema.json
  # then in VS Code (YAML extension), first line of site.yaml:
  # yaml-language-server: $schema=./site.schema.json"""


def register(sub: argparse._SubParsersAction) -> None:
    p = subcommand(sub, "config", HELP, EPILOG)
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = actions.add_parser("check", help="validate FILE and summarise what it defines")
    check.add_argument("file", type=Path, metavar="FILE")
    check.set_defaults(run=run_check)
    schema = actions.add_parser("schema", help="print the JSON Schema of the site file")
    schema.set_defaults(run=run_schema)


def run_check(args: argparse.Namespace) -> int:
    from fieldlab.config.redact import redact_url
    from fieldlab.gateway.config import load_gateway_config, missing_secrets

    site, gw = load_gateway_config(args.file)
    cal = site.calendar
    print(f"{args.file}: OK")
    print(f"  site {site.site}, time zone {site.timezone}, store {site.store}")
    if cal is None:
        print("  calendar: none (every instant is planned)")
    else:
        print(
            f"  calendar: {len(cal.shifts)} shifts, {len(cal.breaks)} breaks, "
            f"{len(cal.exceptions)} exceptions"
        )
    print(
        f"  micro-stop threshold {site.oee.micro_stop_threshold_s:g} s, dialect {site.oee.dialect}"
    )
    for mid, m in site.machines.items():
        ict = f"{m.ideal_cycle_time_s:g} s" if m.ideal_cycle_time_s else "not set"
        print(f"  machine {mid}: ideal cycle {ict}, {len(m.products)} products")
    for src in gw.sources:
        where = redact_url(getattr(src, "url", "") or "")
        print(f"  source {src.name} ({src.type}) {where}")
    for sink in gw.sinks or []:
        print(f"  sink {sink.name} ({sink.type})")
    if not gw.sinks:
        print("  sink sqlite (the site's store)")
    workers = gw.gateway.worker_count()
    if workers > 1 and any(src.type == "mqtt" for src in gw.sources):
        print(
            f"  workers: {workers} processes read the MQTT sources through $share "
            "subscriptions (docs/SCALING.md: a broker restart loses nothing only on a broker "
            "that keeps shared subscriptions, Mosquitto 2.1 with persist-sqlite)"
        )
    keep = site.retention
    if keep.process_values_raw_days is not None:
        print(
            f"  retention: process values as read for {keep.process_values_raw_days} days, then "
            f"{keep.aggregate_minutes}-minute aggregates (SQLite)"
        )
    problems = missing_secrets(gw)
    for p in problems:
        print(f"  warning: {p}")
    return 0


def run_schema(args: argparse.Namespace) -> int:
    from fieldlab.gateway.config import gateway_model

    print(json.dumps(gateway_model().model_json_schema(), indent=2))
    return 0
