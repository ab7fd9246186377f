"""Every word the kit shows a person, in English and Dutch: gettext catalogs compiled by Babel
(``en.po``/``nl.po`` beside this module, keyed by the name the code uses), read through `t`."""

from __future__ import annotations

import functools
import os
import string
import sys
from pathlib import Path
from typing import Literal

from babel.messages.mofile import read_mo

Lang = Literal["en", "nl"]
LANGS: tuple[Lang, ...] = ("en", "nl")


@functools.cache
def catalog(lang: Lang) -> dict[str, str]:
    """The compiled catalog of one language (``en.mo``, ``nl.mo`` beside this file; their
    sources are the ``.po`` files, kept by `fieldlab.i18n.catalogs`): key → text."""
    with (Path(__file__).parent / f"{lang}.mo").open("rb") as f:
        return {str(m.id): str(m.string) for m in read_mo(f) if m.id and m.string}


def has(key: str) -> bool:
    """Whether the catalogs hold a text for ``key`` (a run-time key such as a reason code may
    have none: the caller then shows the code itself)."""
    return key in catalog("en")


def N_(key: str) -> str:
    """Marks a catalog key that code hands to `t` later (a column list): the extraction of
    `fieldlab.i18n.catalogs` finds it, and it is returned unchanged."""
    return key


def detect_lang(explicit: str | None = None) -> Lang:
    """``--lang`` first, then FIELDLAB_LANG, then the locale's variables (LC_ALL, LC_MESSAGES,
    LANG: nl_NL… gives Dutch), then what the computer is set to: Windows sets none of those
    variables, and a Dutch Windows laptop should still get Dutch."""
    env = os.environ
    for candidate in (
        explicit,
        env.get("FIELDLAB_LANG"),
        env.get("LC_ALL"),
        env.get("LC_MESSAGES"),
        env.get("LANG"),
    ):
        if candidate and candidate not in ("C", "POSIX") and not candidate.startswith("C."):
            return _lang_of(candidate)
    return os_language()


def _lang_of(name: str) -> Lang:
    """`nl_NL.UTF-8`, `nl-BE`, `Dutch_Netherlands` (Windows' locale names) are Dutch."""
    low = name.strip().lower()
    return "nl" if low[:2] == "nl" or low.startswith(("dutch", "nederlands")) else "en"


@functools.cache
def os_language() -> Lang:
    """The language the computer is set to: Windows' display language, macOS's first preferred
    language, else the C library's locale; English when nothing says."""
    if sys.platform == "win32":
        try:
            import ctypes

            langid = ctypes.windll.kernel32.GetUserDefaultUILanguage()  # type: ignore[attr-defined]
            return "nl" if int(langid) & 0x3FF == 0x13 else "en"  # LANG_DUTCH
        except (AttributeError, OSError):
            pass
    if sys.platform == "darwin":
        try:
            import subprocess

            out = subprocess.run(
                ["defaults", "read", "-g", "AppleLanguages"],
                capture_output=True,
                text=True,
                timeout=2,
            ).stdout
            first = out.strip("()\n ").split(",")[0].strip().strip('"')
            if first:
                return _lang_of(first)
        except (OSError, subprocess.SubprocessError):
            pass
    import locale

    try:
        name = locale.getlocale()[0]
    except ValueError:
        name = None
    return _lang_of(name) if name else "en"


class _ReaderFormatter(string.Formatter):
    """`{n:,}` and `{rate:,.1f}` in a text become 2.522 and 1.234,5 in Dutch: a number with a
    grouping spec is written as the reader writes it (fieldlab.i18n.formats), so no message
    needs its own formatting code."""

    def __init__(self, lang: Lang):
        self.lang = lang

    def format_field(self, value: object, format_spec: str) -> str:
        if "," in format_spec and isinstance(value, int | float) and not isinstance(value, bool):
            from fieldlab.i18n.formats import number

            digits = int(format_spec.split(".", 1)[1].rstrip("f")) if "." in format_spec else 0
            return number(value, self.lang, digits)
        return super().format_field(value, format_spec)


def t(key: str, lang: Lang = "en", **kwargs: object) -> str:
    """The text of ``key`` in ``lang`` (English, then the key itself, where a catalog lacks it:
    a test keeps the catalogs complete), with ``kwargs`` filled in as the reader writes them."""
    text = catalog(lang).get(key) or catalog("en").get(key) or key
    return _ReaderFormatter(lang).format(text, **kwargs) if kwargs else text
