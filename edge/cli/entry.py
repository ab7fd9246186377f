"""The `fieldlab` program's first lines: Ctrl-C while the command's modules still load (a second
or two on a slow laptop, longer under load) ends it with status 130 and no traceback, as Ctrl-C
does once it runs (cli/main.py)."""

from __future__ import annotations

import sys


def run() -> None:
    try:
        from fieldlab.cli.main import main

        code = main()
    except KeyboardInterrupt:
        code = 130
    sys.exit(code)
