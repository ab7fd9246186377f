"""#31: `make demo` on a Mac took Apple's python3 3.9 (after a 1 GB Command Line Tools dialog)
and failed in pip; the Makefile now takes the first Python 3.11+ on PATH or says which to
install. Run with a PATH made for the case: a python3 that is too old, then a python3.12 too."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _make(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    return subprocess.run(
        [make, "-s", "-C", str(ROOT), f"VENV={tmp / 'venv'}", *args],
        env={"PATH": str(tmp / "bin"), "HOME": str(tmp)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_an_old_python3_is_refused_with_what_to_install(tmp_path):
    (tmp_path / "bin").mkdir()
    old = tmp_path / "bin" / "python3"
    old.write_text("#!/bin/sh\n[ \"$1\" = -c ] && exit 1\necho 'Python 3.9.6'\n")
    old.chmod(0o755)
    done = _make(tmp_path, str(tmp_path / "venv" / "bin" / "python"))
    assert done.returncode != 0
    assert "needs Python 3.11 or newer" in done.stdout and "brew install python@3.12" in done.stdout
    assert not (tmp_path / "venv").exists()


def test_the_newest_python_311_or_later_on_path_is_taken(tmp_path):
    (tmp_path / "bin").mkdir()
    old = tmp_path / "bin" / "python3"
    old.write_text("#!/bin/sh\nexit 1\n")
    old.chmod(0o755)
    os.symlink(sys.executable, tmp_path / "bin" / "python3.12")  # this test's own Python
    done = _make(tmp_path, "-n", str(tmp_path / "venv" / "bin" / "python"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "python3.12 -m venv" in done.stdout
