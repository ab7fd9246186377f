"""What participants of a workshop answered: one attempt at one question of one recipe run.

The store keeps every attempt (never lost on a reload of the page); the exercise page, the
trainer's view and the exports read them back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Verdict = Literal["right", "close", "wrong"]


@dataclass(frozen=True)
class Attempt:
    ts: int  # when it was given, wall clock (epoch ms)
    run: str  # the recipe run: "<recipe>@<start>", so two runs of one recipe stay apart
    participant: str
    question: str  # the question's id in the recipe
    given: str  # what the participant typed or chose, as given
    verdict: Verdict
    hint: bool = False  # the hint was shown before this attempt
