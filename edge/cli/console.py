"""The terminal a command writes to, as it is on a company laptop: output redirected to a file
or a pipe is cp1252 on Windows (`fieldlab oee > oee.txt`, `| findstr`, Task Scheduler, Git
Bash), where `→`, `≥` or a PLC's browse name cannot be written. A character the stream cannot
encode is written as its nearest ASCII (`->`, `>=`) or `?`, never a UnicodeEncodeError."""

from __future__ import annotations

import codecs
import sys
from typing import TextIO

#: the kit's own symbols and their ASCII; anything else a stream cannot encode becomes "?"
ASCII = {
    "→": "->",
    "←": "<-",
    "≥": ">=",
    "≤": "<=",
    "×": "x",
    "…": "...",
    "–": "-",
    "—": "-",
    "·": "-",
    "±": "+/-",
    "°": "deg",
    "€": "EUR",
    "‘": "'",
    "’": "'",
    "“": '"',
    "”": '"',
    "\u00a0": " ",
    "\u202f": " ",
}
HANDLER = "fieldlab-ascii"


def _nearest(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    text = exc.object[exc.start : exc.end]
    return "".join(ASCII.get(c, "?") for c in text), exc.end


codecs.register_error(HANDLER, _nearest)


def safe_streams(*streams: TextIO) -> None:
    """Let stdout and stderr write anything: a stream whose encoding cannot write the kit's
    symbols writes their ASCII instead (UTF-8 streams are left as they are)."""
    for stream in streams or (sys.stdout, sys.stderr):
        encoding = getattr(stream, "encoding", None) or "ascii"
        try:
            "→≥≤".encode(encoding)
        except (UnicodeEncodeError, LookupError):
            reconfigure = getattr(stream, "reconfigure", None)
            if reconfigure is not None:
                reconfigure(errors=HANDLER)


#: Windows console modes (wincon.h)
_ENABLE_QUICK_EDIT_MODE = 0x0040
_ENABLE_EXTENDED_FLAGS = 0x0080
_STD_INPUT_HANDLE = -10


def no_quick_edit() -> bool:
    """Windows' console freezes a program that writes to it while a person selects text in it
    (QuickEdit, on by default): a gateway or demo logging a line then stops reading its PLCs
    until the selection ends. Turn QuickEdit off for this console while the command runs, and
    back on at exit. True when it was on and is now off."""
    if sys.platform != "win32":
        return False
    try:
        import atexit
        import ctypes

        kernel32 = ctypes.windll.kernel32
        handle = kernel32.GetStdHandle(_STD_INPUT_HANDLE)
        mode = ctypes.c_uint32()
        if not kernel32.GetConsoleMode(handle, ctypes.byref(mode)):
            return False  # not a console: a pipe, a service
        if not mode.value & _ENABLE_QUICK_EDIT_MODE:
            return False
        off = (mode.value | _ENABLE_EXTENDED_FLAGS) & ~_ENABLE_QUICK_EDIT_MODE
        if not kernel32.SetConsoleMode(handle, off):
            return False
        atexit.register(kernel32.SetConsoleMode, handle, mode.value)
        return True
    except (AttributeError, OSError):
        return False
