"""The suite leans on pytest-xdist's `--dist loadgroup` (make test): a module whose tests share a
session fixture (the report's simulated fortnight, the wheel, one Chromium) runs on one worker.
When a pytest and an xdist stop agreeing on how (pytest 9.2 and xdist 3.8: xdist issue #1386),
nothing fails, the fixtures are just built on every worker: this test notices."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_tests_of_one_xdist_group_run_on_one_worker(tmp_path: Path):
    (tmp_path / "test_grouped.py").write_text(
        "import os, pytest\n"
        'pytestmark = pytest.mark.xdist_group("one")\n'
        + "".join(
            f"def test_{i}():\n    open('pids', 'a').write(f'{{os.getpid()}}\\n')\n"
            for i in range(6)
        )
    )
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-n",
            "2",
            "--dist",
            "loadgroup",
            "-p",
            "no:cacheprovider",
            "test_grouped.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    pids = (tmp_path / "pids").read_text().split()
    assert len(pids) == 6
    assert len(set(pids)) == 1, f"one group ran on {len(set(pids))} workers: {out.stdout}"
