"""What every subcommand shares: config and store resolution, time arguments, error exits."""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import re
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from fieldlab.config import ConfigError, SiteConfig, load_site_config
from fieldlab.domain.samples import SampleError, from_ms, parse_ts, to_ms
from fieldlab.errors import PortInUse, UsageError
from fieldlab.i18n import detect_lang, t
from fieldlab.store import Store, open_store

DEFAULT_CONFIG = Path("site.yaml")
DEFAULT_STORE = "sqlite:///fieldlab.db"


def subcommand(
    sub: argparse._SubParsersAction, name: str, help: str, epilog: str, description: str = ""
) -> argparse.ArgumentParser:
    """A `fieldlab NAME` parser whose --help keeps the examples' layout (epilog as written)."""
    parser: argparse.ArgumentParser = sub.add_parser(
        name,
        help=help,
        description=description or help,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser


def add_config_args(p: argparse.ArgumentParser, *, store: bool = True) -> None:
    p.add_argument(
        "--config",
        "-c",
        metavar="FILE",
        type=Path,
        help="site YAML (domain.md §6); default: ./site.yaml when it exists",
    )
    if store:
        p.add_argument(
            "--store",
            metavar="URL",
            help=f"store URL, overriding the config's `store:` (default {DEFAULT_STORE})",
        )
    p.add_argument(
        "--lang",
        choices=("en", "nl"),
        help="language of messages (default from FIELDLAB_LANG or LANG)",
    )


def load_config(args: argparse.Namespace) -> tuple[SiteConfig, Path | None]:
    path: Path | None = args.config
    if path is None and DEFAULT_CONFIG.exists():
        path = DEFAULT_CONFIG
    if path is None:
        return SiteConfig(), None
    return load_site_config(path), path


def resolve_store(
    args: argparse.Namespace, site: SiteConfig, config_path: Path | None, *, readonly: bool
) -> Store:
    if getattr(args, "store", None):
        return open_store(args.store, readonly=readonly)
    base = config_path.parent if config_path is not None else None
    return open_store(site.store, base_dir=base, readonly=readonly)


def parse_time_arg(text: str, tz: ZoneInfo, now_ms: int, name: str) -> int:
    """RFC 3339, epoch ms, a local date or date-time (site time zone), today, yesterday, now."""
    word = text.strip().lower()
    local_today = from_ms(now_ms).astimezone(tz).date()
    if word == "now":
        return now_ms
    if word in ("today", "yesterday"):
        day = local_today - dt.timedelta(days=1 if word == "yesterday" else 0)
        return local_midnight(day, tz)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", word):
        try:
            return local_midnight(dt.date.fromisoformat(word), tz)
        except ValueError:
            pass
    else:
        try:
            return parse_ts(text)
        except SampleError:
            try:
                naive = dt.datetime.fromisoformat(text.strip())
                if naive.tzinfo is None:
                    return to_ms(naive.replace(tzinfo=tz))
            except ValueError:
                pass
    raise UsageError(t("cli.bad_time", detect_lang(), option=name, text=repr(text)))


def local_midnight(day: dt.date, tz: ZoneInfo) -> int:
    return to_ms(dt.datetime.combine(day, dt.time()).replace(tzinfo=tz))


def speed_arg(text: str) -> float:
    """argparse type for a simulated-time factor: 1, 60, 600×, or max (as fast as possible)."""
    if text.strip().lower() in ("max", "inf", "fastest"):
        return math.inf
    try:
        value = float(text.strip().rstrip("x×"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a speed like 1, 60, 600 or max"
        ) from None
    if value <= 0:
        raise argparse.ArgumentTypeError("speed must be > 0")
    return value


def fail(message: str, code: int = 2) -> int:
    print(f"fieldlab: {message}", file=sys.stderr)
    return code


KNOWN_ERRORS = (ConfigError, UsageError, PortInUse)


def permission_message(exc: PermissionError) -> str:
    """One line for a file the command may not write: which, whose folder, and what to do (in a
    container, a volume made by another image or by root is the usual cause)."""
    lang = detect_lang()
    path = Path(exc.filename) if exc.filename else None
    if path is None:
        return t("cli.permission", lang, why=exc.strerror or exc)
    folder = path if path.is_dir() else path.parent
    who = ""
    if hasattr(os, "getuid"):
        uid = os.getuid()
        try:
            owner = folder.stat().st_uid
        except OSError:
            owner = None
        who = t("cli.for_uid", lang, uid=uid) + (
            t("cli.owner", lang, folder=folder, owner=owner) if owner is not None else ""
        )
        container = os.environ.get("container")  # noqa: SIM112 - podman's own name for it
        if Path("/.dockerenv").exists() or container:
            return t("cli.denied_volume", lang, path=path, who=who, uid=uid, folder=folder)
    return t("cli.denied", lang, path=path, who=who, folder=folder)


def command_name() -> str:
    """How to type this command again in the same terminal: `fieldlab` where that finds this
    program, else the path it was started by (`make demo` runs .venv/bin/fieldlab, which is
    not on PATH until the environment is activated)."""
    import shutil

    me = Path(sys.argv[0])
    found = shutil.which("fieldlab")
    if found and me.name.startswith("fieldlab") and Path(found).resolve() == me.resolve():
        return "fieldlab"
    if me.name.startswith("fieldlab") and me.exists():
        try:
            return str(me.resolve().relative_to(Path.cwd()))
        except ValueError:
            return str(me.resolve())
    return f"{Path(sys.executable).name} -m fieldlab"
