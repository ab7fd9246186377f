"""The Streamlit server of `fieldlab dashboard` and `fieldlab demo`: Streamlit's own command
line, in a process that stops when the command that started it is gone, even SIGKILLed."""

from __future__ import annotations

import sys

from fieldlab.process import watch_parent


def main() -> None:
    watch_parent()
    from streamlit.web.cli import main as streamlit

    sys.argv = ["streamlit", *sys.argv[1:]]
    streamlit()


if __name__ == "__main__":
    main()
