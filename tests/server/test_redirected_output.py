"""#31 done-when: `fieldlab oee > out.txt` with Windows' cp1252 stdout prints the table (the
process as a laptop runs it: PYTHONIOENCODING=cp1252, stdout a file, no PYTHONUTF8)."""

from __future__ import annotations

import os
import subprocess
import sys

from fieldlab.domain.samples import Sample
from fieldlab.store import SqliteStore
from tests.helpers import local


def test_oee_into_a_cp1252_file_prints_the_table(tmp_path):
    site = tmp_path / "site.yaml"
    site.write_text("store: sqlite:///fieldlab.db\nmachines: {press-1: {ideal_cycle_time_s: 20}}\n")
    with SqliteStore(tmp_path / "fieldlab.db") as store:
        store.write([Sample(local("2026-03-02 06:00"), "press-1", "state", "running")])
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUTF8"}
    env.update(PYTHONIOENCODING="cp1252", FIELDLAB_LANG="nl")
    out = tmp_path / "oee.txt"
    with out.open("wb") as fh:
        done = subprocess.run(
            [sys.executable, "-m", "fieldlab", "oee", "-c", str(site)]
            + ["--from", "2026-03-02T06:00", "--to", "2026-03-02T08:00"],
            stdout=fh,
            stderr=subprocess.PIPE,
            env=env,
            timeout=60,
        )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    text = out.read_bytes().decode("cp1252")
    assert "press-1" in text and "->" in text and "Traceback" not in text
