"""Sample files into a store: batches of good lines, every bad line kept with its reason
(domain.md §1), progress on stderr. `fieldlab ingest`, the demo's history and the tests use it."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from fieldlab.domain.rejected import Rejected
from fieldlab.domain.samples import Sample, is_known_state
from fieldlab.i18n import Lang, t
from fieldlab.store import Store
from fieldlab.store.files import read_samples

BATCH = 20_000
SHOWN_BAD_LINES = 20


def ingest_file(
    store: Store, path: Path, *, lang: Lang = "en", quiet: bool = False
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
    for n, line in enumerate(lines, start=1):
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
