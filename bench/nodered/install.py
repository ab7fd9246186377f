"""Node-RED and its InfluxDB node, from npm into a cache folder of their own when asked: the
comparison needs them, the kit never does (they are no dependency of it)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from fieldlab.bench.services import ServiceMissing

#: what the comparison ran against (#32: Node-RED 4 and node-red-contrib-influxdb)
PACKAGES = ("node-red@4.1.8", "node-red-contrib-influxdb@0.7.0")


def cache_dir() -> Path:
    """Where they go: FIELDLAB_CACHE, else the platform's cache folder."""
    if os.environ.get("FIELDLAB_CACHE"):
        return Path(os.environ["FIELDLAB_CACHE"]) / "nodered"
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "fieldlab" / "nodered"


def red_js(folder: Path) -> Path | None:
    script = folder / "node_modules" / "node-red" / "red.js"
    influx = folder / "node_modules" / "node-red-contrib-influxdb" / "package.json"
    return script if script.exists() and influx.exists() else None


def node_red(install: bool, folder: Path | None = None) -> tuple[str, Path]:
    """(node, red.js): installed into the cache folder first when ``install`` and missing."""
    folder = folder or cache_dir()
    node = shutil.which("node")
    if node is None:
        raise ServiceMissing("Node.js is not installed (Debian/Ubuntu: apt install nodejs npm)")
    script = red_js(folder)
    if script is None and install:
        npm = shutil.which("npm")
        if npm is None:
            raise ServiceMissing("npm is not installed (Debian/Ubuntu: apt install npm)")
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [npm, "install", "--prefix", str(folder), "--no-audit", "--no-fund", "--silent"]
            + list(PACKAGES),
            check=True,
            timeout=900,
        )
        script = red_js(folder)
    if script is None:
        raise ServiceMissing(
            f"Node-RED is not in {folder}: run `fieldlab bench nodered --install` once "
            f"(npm install of {' '.join(PACKAGES)} there, about 100 MB)"
        )
    return node, script
