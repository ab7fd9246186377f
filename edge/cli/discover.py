"""`fieldlab discover PROTOCOL`: find out what a new machine offers. Each protocol's command is
its folder's `discover.py` (found by `fieldlab.discovery`); this module only lists them."""

from __future__ import annotations

import argparse

from fieldlab.cli.common import subcommand
from fieldlab.discovery import discover_modules

HELP = "Find what a machine offers: connect, list what it has, and show how to map it."


def register(sub: argparse._SubParsersAction) -> None:
    modules = discover_modules()
    examples = [line for m in modules.values() for line in m.EXAMPLES]
    epilog = "examples:\n" + "\n".join(f"  {line}" for line in examples)
    p = subcommand(sub, "discover", HELP, epilog)
    kinds = p.add_subparsers(dest="kind", required=True, metavar="PROTOCOL")
    for name, module in modules.items():
        module.add_arguments(kinds.add_parser(name, help=module.HELP))
        kinds.choices[name].set_defaults(run=module.run)
