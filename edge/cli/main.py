"""Entry point of the `fieldlab` command: subcommands register themselves here."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Sequence

from fieldlab import __version__
from fieldlab.cli import (
    bench,
    config,
    dashboard,
    demo,
    discover,
    gateway,
    ingest,
    oee,
    recipe,
    report,
    sim,
    users,
)
from fieldlab.cli.common import KNOWN_ERRORS, fail, permission_message
from fieldlab.cli.console import no_quick_edit, safe_streams
from fieldlab.i18n import detect_lang, t
from fieldlab.store import StoreError

DESCRIPTION = """\
fieldlab-kit: machine data in, OEE and downtime out.
fieldlab-kit: machinedata erin, OEE en stilstand eruit.

Start with `fieldlab demo`, then look at `fieldlab oee --help`."""

EPILOG = """\
typical session:
  fieldlab demo                         # simulated machines, store and OEE on this laptop
  fieldlab ingest truth.jsonl           # load samples from a file
  fieldlab oee --config site.yaml       # OEE per machine, this shift so far
Set FIELDLAB_LANG=nl (or --lang nl) for Dutch output."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fieldlab",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"fieldlab-kit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (
        demo,
        sim,
        gateway,
        dashboard,
        recipe,
        discover,
        ingest,
        oee,
        report,
        config,
        users,
        bench,
    ):
        module.register(sub)
    for command in _commands(parser):
        if "--lang" not in command._option_string_actions:
            command.add_argument(
                "--lang",
                choices=("en", "nl"),
                help="language of messages (default: FIELDLAB_LANG, then the computer's)",
            )
    return parser


def _commands(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """Every command a person can type (`fieldlab config check`, `fieldlab oee`, …): the
    parsers at the ends of the subcommand tree, so each takes `--lang` where it is typed."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield parser
    for action in subs:
        for child in dict.fromkeys(action.choices.values()):
            yield from _commands(child)


def main(argv: Sequence[str] | None = None) -> int:
    safe_streams()
    no_quick_edit()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    before = os.environ.get("FIELDLAB_LANG")
    if getattr(args, "lang", None):
        # every message of this command and of the processes it starts, in that language
        os.environ["FIELDLAB_LANG"] = args.lang
    try:
        return _run(args)
    finally:
        if before is None:
            os.environ.pop("FIELDLAB_LANG", None)
        else:
            os.environ["FIELDLAB_LANG"] = before


def _run(args: argparse.Namespace) -> int:
    try:
        return int(args.run(args) or 0)
    except KNOWN_ERRORS as exc:
        return fail(str(exc))
    except StoreError as exc:
        return fail(f"{t('store', detect_lang())}: {exc}")
    except PermissionError as exc:
        return fail(permission_message(exc))
    except KeyboardInterrupt:
        return 130
    except RuntimeError as exc:
        # Ctrl-C while a library's module is still being imported can surface wrapped, e.g.
        # "Error calling __set_name__" from a dataclass: still the person's Ctrl-C
        if isinstance(exc.__cause__, KeyboardInterrupt):
            return 130
        raise
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
