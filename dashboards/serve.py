"""Serving the dashboard: the Streamlit command line for `fieldlab dashboard` and the demo, and
(run as `python -m fieldlab.dashboards.serve`) Streamlit's own command line in a process that
stops when the command that started it is gone, even SIGKILLed (fieldlab/process.py)."""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

from fieldlab.process import watch_parent


def command(config: Path, port: int, address: str) -> list[str]:
    app = Path(str(resources.files("fieldlab.dashboards") / "app.py"))
    return [
        sys.executable,
        "-m",
        "fieldlab.dashboards.serve",
        "run",
        str(app),
        "--server.port",
        str(port),
        "--server.address",
        address,
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--global.developmentMode",
        "false",
        # no "Deploy" button and no developer menu on a shop floor
        "--client.toolbarMode",
        "minimal",
    ]


def main() -> None:
    watch_parent()
    from streamlit.web.cli import main as streamlit

    sys.argv = ["streamlit", *sys.argv[1:]]
    streamlit()


if __name__ == "__main__":
    main()
