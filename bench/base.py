"""What every benchmark is: ``run(progress) -> Result`` and ``report(result) -> lines``.

A result is a flat JSON object: the figures, the baseline measured in the same process and the
same run, the ratio, ``goals`` (figure name → goal) and ``met`` (all goals reached)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Progress = Callable[[str], None]
Result = dict[str, Any]
