"""`python -m fieldlab`: the `fieldlab` command."""

from fieldlab.cli.entry import run

run()
