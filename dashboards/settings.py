"""How this dashboard was started, in one object. The command that starts Streamlit
(`fieldlab dashboard`, `demo`, `recipe run`) writes it into the server's environment
(`environ`), the one channel into Streamlit's own process, and every page reads it from there
(`current`): nothing else in the dashboard looks at a FIELDLAB_ variable."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Clock = Literal["wall", "data"]


@dataclass(frozen=True)
class DashboardSettings:
    #: the site file
    config: Path = Path("site.yaml")
    #: a store other than the site's `store:` (`fieldlab dashboard --store`)
    store: str | None = None
    #: the language when the reader has not chosen one (i18n reads FIELDLAB_LANG itself)
    lang: str | None = None
    #: the TV screen only (`--andon`)
    andon: bool = False
    #: one machine's tablet only (`--terminal ID`)
    terminal: str | None = None
    #: a recipe run's exercise file: the Exercise and Trainer pages appear
    exercise: Path | None = None
    #: the code a trainer types to see the answers of a recipe run
    trainer_code: str = ""
    #: "data": the newest sample is now (a recipe run plays a day of the past); "wall": the
    #: later of the clock and the newest sample (domain.md §5)
    clock: Clock = "wall"

    def environ(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """The server's environment: `base` (the caller's) with these settings."""
        env = {k: v for k, v in (os.environ if base is None else base).items() if k not in _KEYS}
        env["FIELDLAB_CONFIG"] = str(self.config.resolve())
        if self.store:
            env["FIELDLAB_STORE"] = self.store
        if self.lang:
            env["FIELDLAB_LANG"] = self.lang
        if self.andon:
            env["FIELDLAB_ANDON"] = "1"
        if self.terminal:
            env["FIELDLAB_TERMINAL"] = self.terminal
        if self.exercise is not None:
            env["FIELDLAB_EXERCISE"] = str(self.exercise)
        if self.trainer_code:
            env["FIELDLAB_TRAINER_CODE"] = self.trainer_code
        if self.clock != "wall":
            env["FIELDLAB_CLOCK"] = self.clock
        return env

    @classmethod
    def from_environ(cls, env: Mapping[str, str] | None = None) -> DashboardSettings:
        env = os.environ if env is None else env
        exercise = env.get("FIELDLAB_EXERCISE")
        return cls(
            config=Path(env.get("FIELDLAB_CONFIG", "site.yaml")),
            store=env.get("FIELDLAB_STORE") or None,
            lang=env.get("FIELDLAB_LANG") or None,
            andon=env.get("FIELDLAB_ANDON") == "1",
            terminal=env.get("FIELDLAB_TERMINAL") or None,
            exercise=Path(exercise) if exercise else None,
            trainer_code=env.get("FIELDLAB_TRAINER_CODE", ""),
            clock="data" if env.get("FIELDLAB_CLOCK") == "data" else "wall",
        )


#: the settings' variables (a dashboard started from another's environment starts clean)
_KEYS = frozenset(
    {
        "FIELDLAB_CONFIG",
        "FIELDLAB_STORE",
        "FIELDLAB_ANDON",
        "FIELDLAB_TERMINAL",
        "FIELDLAB_EXERCISE",
        "FIELDLAB_TRAINER_CODE",
        "FIELDLAB_CLOCK",
    }
)


def current() -> DashboardSettings:
    """The settings this dashboard process was started with."""
    return DashboardSettings.from_environ()
