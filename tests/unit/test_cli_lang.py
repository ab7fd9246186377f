"""The command line in the reader's language (#28 item 1): every command takes `--lang`, and
`--lang nl` or FIELDLAB_LANG=nl gives Dutch messages and errors, English otherwise."""

from __future__ import annotations

import os

import pytest

from fieldlab.cli.main import _commands, build_parser, main
from tests.helpers import foreign_texts

SITE = """\
machines:
  press-1: {name: {en: Press, nl: Pers}, ideal_cycle_time_s: 12}
calendar:
  shifts: [{name: early, days: [mon], start: "06:00", end: "14:00"}]
"""


def test_every_command_takes_lang():
    names = [c.prog for c in _commands(build_parser())]
    assert "fieldlab config check" in names and "fieldlab users add" in names
    assert [
        n
        for n, c in zip(names, _commands(build_parser()), strict=True)
        if "--lang" not in c._option_string_actions
    ] == []


@pytest.mark.parametrize("how", ["option", "environment"])
def test_config_check_speaks_dutch(tmp_path, capsys, monkeypatch, how):
    site = tmp_path / "site.yaml"
    site.write_text(SITE)
    args = ["config", "check", str(site)]
    if how == "option":
        args += ["--lang", "nl"]
    else:
        monkeypatch.setenv("FIELDLAB_LANG", "nl")
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "rooster: 1 ploegen" in out and "machine press-1 (Pers): ideale cyclustijd 12 s" in out
    assert foreign_texts(out, "nl") == []


def test_a_bad_site_file_is_named_in_the_readers_language(tmp_path, capsys):
    site = tmp_path / "site.yaml"
    site.write_text("machines:\n  press-1: {ideal_cycle_time_s: -1, colour: red}\n")
    assert main(["config", "check", str(site), "--lang", "nl"]) == 2
    err = capsys.readouterr().err
    assert "machines.press-1.ideal_cycle_time_s: -1: moet groter zijn dan 0" in err, err
    assert "machines.press-1.colour: is geen bekende sleutel" in err, err
    assert main(["oee", "-c", str(tmp_path / "nope.yaml"), "--lang", "nl"]) == 2
    assert "nope.yaml: bestand niet gevonden" in capsys.readouterr().err
    assert main(["oee", "-c", str(tmp_path / "nope.yaml"), "--lang", "en"]) == 2
    assert "nope.yaml: file not found" in capsys.readouterr().err


def test_the_language_of_one_command_does_not_stay_in_the_process(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("FIELDLAB_LANG", raising=False)
    main(["oee", "-c", str(tmp_path / "nope.yaml"), "--lang", "nl"])
    assert "FIELDLAB_LANG" not in os.environ
    capsys.readouterr()


def test_ctrl_c_while_a_library_is_imported_is_still_ctrl_c(monkeypatch):
    """Ctrl-C during asyncua's import surfaced as RuntimeError("Error calling __set_name__")
    with the KeyboardInterrupt as its cause: a traceback instead of exit 130 (CI, under load)."""
    import argparse

    def importing(args: argparse.Namespace) -> int:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as ki:
            raise RuntimeError("Error calling __set_name__ on 'Field' instance") from ki

    from fieldlab.cli import main as cli

    monkeypatch.setattr(cli, "build_parser", lambda: _parser_running(importing))
    assert cli.main(["x"]) == 130


def _parser_running(fn):
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("cmd")
    parser.set_defaults(run=fn, lang=None)
    return parser
