"""`fieldlab ingest`: interchange files into the store, keeping every bad line with its reason."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from fieldlab.cli.common import add_config_args, load_config, resolve_store
from fieldlab.domain.samples import Sample, is_known_state
from fieldlab.i18n import detect_lang, t
from fieldlab.interchange import read_samples
from fieldlab.store import Rejected, Store

BATCH = 20_000
SHOWN_BAD_LINES = 20

HELP = "Load samples from JSON Lines or CSV files into the store."
DESCRIPTION = """\
Load samples (DOMAIN.md §1) from JSON Lines or CSV files into the store.

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
    p = sub.add_parser(
        "ingest",
        help=HELP,
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("files", nargs="+", type=Path, metavar="FILE", help=".jsonl or .csv files")
    add_config_args(p)
    p.add_argument("--quiet", "-q", action="store_true", help="no progress lines")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    lang = detect_lang(args.lang)
    site, config_path = load_config(args)
    missing = [f for f in args.files if not f.is_file()]
    if missing:
        print(f"fieldlab: {missing[0]}: file not found", file=sys.stderr)
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


def ingest_file(
    store: Store, path: Path, *, lang: str = "en", quiet: bool = False
) -> tuple[int, int]:
    """Store a file's samples in batches; returns (samples kept, lines rejected)."""
    size = max(path.stat().st_size, 1)
    counter, lines = read_samples(path)
    batch: list[Sample] = []
    bad: list[Rejected] = []
    kept = rejected = 0
    unknown_states: set[str] = set()
    started = last_report = time.monotonic()
    n = 0
    for n, line in enumerate(lines, start=1):  # noqa: B007
        if line.sample is not None:
            batch.append(line.sample)
            if line.sample.signal == "state" and not is_known_state(line.sample.value):
                unknown_states.add(str(line.sample.value))
            if len(batch) >= BATCH:
                kept += store.write(batch)
                batch.clear()
        else:
            rejected += 1
            if rejected <= SHOWN_BAD_LINES:
                print(
                    t("ingest.bad_line", lang, file=path, line=line.number, reason=line.error),
                    file=sys.stderr,
                )
            bad.append(Rejected(f"ingest:{path.name}:{line.number}", line.text, line.error or ""))
            if len(bad) >= BATCH:
                store.write_rejected(bad)
                bad.clear()
        now = time.monotonic()
        if not quiet and now - last_report >= 1.0:
            last_report = now
            pct = min(100, round(100 * counter.bytes_read / size))
            print(
                t("ingest.progress", lang, file=path, lines=n, pct=pct, rate=n / (now - started)),
                file=sys.stderr,
                flush=True,
            )
    kept += store.write(batch)
    store.write_rejected(bad)
    if rejected > SHOWN_BAD_LINES:
        print(t("ingest.more_bad", lang, n=rejected - SHOWN_BAD_LINES), file=sys.stderr)
    if unknown_states:
        print(
            t("ingest.unknown_state", lang, file=path, values=", ".join(sorted(unknown_states))),
            file=sys.stderr,
        )
    return kept, rejected
