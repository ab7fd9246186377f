"""Where the kit keeps what a person runs on their own computer (the demo's store, workshop
runs): the folder each system has for that, so nothing lands in a program folder, a cloud-synced
Documents folder or wherever a shortcut happened to start the command."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def data_dir() -> Path:
    """Windows: %LOCALAPPDATA%\\fieldlab; macOS: ~/Library/Application Support/fieldlab;
    elsewhere: $XDG_DATA_HOME/fieldlab (~/.local/share/fieldlab). FIELDLAB_DATA overrides."""
    own = os.environ.get("FIELDLAB_DATA")
    if own:
        return Path(own)
    home = Path.home()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")
    return base / "fieldlab"
