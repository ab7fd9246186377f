"""`fieldlab ingest`: interchange files into the store, keeping every bad line with its reason."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fieldlab.cli.common import add_config_args, load_config, resolve_store, subcommand
from fieldlab.i18n import detect_lang, t
from fieldlab.store.ingest import ingest_file

HELP = "Load samples from JSON Lines or CSV files into the store."
DESCRIPTION = """\
Load samples (domain.md §1) from JSON Lines or CSV files into the store.

Good lines are stored; a bad line is reported with its line number and reason, kept in the
store's rejected table, and the rest of the file flows on. Loading a file twice is harmless:
a sample with the same machine, signal and time is written once.
Exit status: 0 all stored, 1 some lines rejected, 2 the command could not run."""
EPILOG = """\
examples:
  fieldlab ingest truth.jsonl
  fieldlab ingest --config site.yaml day1.csv day2.csv
  fieldlab ingest --store sqlite:///tmp/test.db samples.jsonl

JSONL line: {"ts": "2026-03-02T06:00:00+01:00", "machine": "press-1", "signal": "state",
             "value": "running"}
CSV header: ts,machine,signal,value"""


def register(sub: argparse._SubParsersAction) -> None:
    p = subcommand(sub, "ingest", HELP, EPILOG, DESCRIPTION)
    p.add_argument("files", nargs="+", type=Path, metavar="FILE", help=".jsonl or .csv files")
    add_config_args(p)
    p.add_argument("--quiet", "-q", action="store_true", help="no progress lines")
    p.set_defaults(run=run)


def expand(files: list[Path]) -> list[Path]:
    """`data\\*.csv` as a Unix shell would expand it: Windows' cmd and PowerShell pass the
    pattern through as typed. A pattern that matches nothing stays, to be named as not found."""
    import glob

    out: list[Path] = []
    for f in files:
        found = sorted(glob.glob(str(f))) if not f.exists() and glob.has_magic(str(f)) else []
        out += [Path(p) for p in found] or [f]
    return out


def run(args: argparse.Namespace) -> int:
    lang = detect_lang(args.lang)
    site, config_path = load_config(args)
    args.files = expand(args.files)
    missing = [f for f in args.files if not f.is_file()]
    if missing:
        print(f"fieldlab: {t('cfg.not_found', lang, path=missing[0])}", file=sys.stderr)
        return 2
    store = resolve_store(args, site, config_path, readonly=False)
    any_rejected = False
    try:
        for path in args.files:
            kept, rejected = ingest_file(store, path, lang=lang, quiet=args.quiet)
            any_rejected |= rejected > 0
            print(t("ingest.summary", lang, file=path, kept=kept, rejected=rejected))
    finally:
        store.close()
    return 1 if any_rejected else 0
