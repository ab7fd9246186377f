"""The commands the kit prints for the next step work from the same terminal (#28): after
`make demo`, `fieldlab` is in .venv/bin, not on PATH, and the demo's closing line said
`fieldlab oee -c …`, which the shell could not find."""

from __future__ import annotations

import sys

from fieldlab.cli.common import command_name


def test_the_path_when_fieldlab_is_not_on_path(tmp_path, monkeypatch):
    script = tmp_path / ".venv" / "bin" / "fieldlab"
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    monkeypatch.setattr(sys, "argv", [str(script), "demo"])
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert command_name() == ".venv/bin/fieldlab"
    monkeypatch.setenv("PATH", f"{script.parent}:/usr/bin")  # activated: the short name
    assert command_name() == "fieldlab"
    monkeypatch.setattr(sys, "argv", ["-m", "demo"])  # python -m fieldlab
    assert command_name().endswith("-m fieldlab")
