"""`fieldlab config check|schema`: validate a site file, or print its JSON Schema for editors."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from fieldlab.cli.common import subcommand
from fieldlab.i18n import detect_lang, t
from fieldlab.i18n.formats import number

HELP = "Check a site config, or print its JSON Schema."
EPILOG = """\
examples:
  fieldlab config check site.yaml
  fieldlab config check site.yaml --lang nl   # in Dutch (or FIELDLAB_LANG=nl)
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
    lang = detect_lang(args.lang)

    def say(key: str, **kw: object) -> None:
        print(f"  {t(key, lang, **kw)}")

    cal = site.calendar
    print(f"{args.file}: OK")
    say("check.site", site=site.site, tz=site.timezone, store=site.store)
    if cal is None:
        say("check.no_calendar")
    else:
        say(
            "check.calendar",
            shifts=len(cal.shifts),
            breaks=len(cal.breaks),
            exceptions=len(cal.exceptions),
        )
    say(
        "check.oee",
        threshold=number(site.oee.micro_stop_threshold_s, lang, 1)
        .removesuffix(",0")
        .removesuffix(".0"),
        dialect=site.oee.dialect,
    )
    for mid, m in site.machines.items():
        ict = (
            f"{number(m.ideal_cycle_time_s, lang, 2).rstrip('0').rstrip(',.')} s"
            if m.ideal_cycle_time_s
            else t("check.not_set", lang)
        )
        say("check.machine", id=mid, name=m.label(lang, mid), ict=ict, products=len(m.products))
    for src in gw.sources:
        where = redact_url(getattr(src, "url", "") or "")
        say("check.source", name=src.name, type=src.type, where=where)
    for sink in gw.sinks or []:
        say("check.sink", name=sink.name, type=sink.type)
    if not gw.sinks:
        say("check.sink_default")
    workers = gw.gateway.worker_count()
    if workers > 1 and any(src.type == "mqtt" for src in gw.sources):
        say("check.workers", n=workers)
    keep = site.retention
    if keep.process_values_raw_days is not None:
        say("check.retention", days=keep.process_values_raw_days, minutes=keep.aggregate_minutes)
    for p in missing_secrets(gw):
        say("check.warning", problem=p)
    return 0


def run_schema(args: argparse.Namespace) -> int:
    from fieldlab.gateway.config import gateway_model

    print(json.dumps(gateway_model().model_json_schema(), indent=2))
    return 0
