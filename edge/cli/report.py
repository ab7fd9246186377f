"""`fieldlab report`: the owner's weekly report, as HTML and PDF."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from fieldlab.cli.common import UsageError, add_config_args, load_config, resolve_store, subcommand
from fieldlab.i18n import detect_lang
from fieldlab.kpi.query import store_now
from fieldlab.reports.build import build_report
from fieldlab.reports.render import to_html, to_pdf
from fieldlab.reports.week import Week

HELP = "Write the owner's weekly report (OEE, top losses in money, energy, alerts) as PDF/HTML."
DESCRIPTION = """\
The week an owner reads on Monday: OEE per machine and its trend over the last weeks, the stop
reasons that cost the most minutes and money, energy and kWh per good unit, the alerts of the
week, and with --compare a before/after table of two weeks.

Every figure is the same as `fieldlab oee` for that week (Monday 00:00 to Monday 00:00 in the
site's time zone). Money needs the site's keys:
  reports: {margin_per_hour: 85}          # what an hour of standing still costs
  energy:  {price_per_kwh: 0.25, currency: EUR}
Without --pdf or --html the report is written as report-<week>.pdf in this folder."""
EPILOG = """\
examples:
  fieldlab report -c site.yaml                                  # last week, as PDF
  fieldlab report -c site.yaml --week 2026-W09 --lang nl --pdf week9.pdf
  fieldlab report -c site.yaml --week 2026-W09 --compare 2026-W08 --html week9.html

Sent every week by the gateway when the site file says so:
  reports: {weekly: {to: [owner-mail], day: mon, at: "07:00", lang: nl}}"""


def register(sub: argparse._SubParsersAction) -> None:
    p = subcommand(sub, "report", HELP, EPILOG, DESCRIPTION)
    add_config_args(p)
    p.add_argument("--week", metavar="YYYY-Www", help="ISO week (default: last week)")
    p.add_argument("--compare", metavar="YYYY-Www", help="a week to compare with")
    p.add_argument("--pdf", type=Path, metavar="FILE", help="write the PDF here")
    p.add_argument("--html", type=Path, metavar="FILE", help="write the HTML here")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    lang = detect_lang(args.lang)
    site, config_path = load_config(args)
    try:
        week = (
            Week.parse(args.week)
            if args.week
            else Week.of(dt.datetime.now(site.tz).date()).shifted(-1)
        )
        compare = Week.parse(args.compare) if args.compare else None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    pdf, html = args.pdf, args.html
    if pdf is None and html is None:
        pdf = Path(f"report-{week}.pdf")
    store = resolve_store(args, site, config_path, readonly=True)
    try:
        report = build_report(store, site, week, store_now(store), compare)
    finally:
        store.close()
    if html is not None:
        html.write_text(to_html(report, lang), encoding="utf-8")
        print(f"fieldlab report: {html}")
    if pdf is not None:
        to_pdf(report, lang, pdf)
        print(f"fieldlab report: {pdf}")
    return 0
