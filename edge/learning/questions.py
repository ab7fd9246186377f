"""Questions of a workshop recipe: what is asked, from which simulated moment, and how its
answer is found in the data (never typed in: `derive.py` computes it from the ground truth for
the answer key and from the store for `recipe check`, and the two must agree)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Text = dict[str, str]  # {"en": …, "nl": …}

RATIOS = ("availability", "performance", "quality", "oee")
COUNTS = ("good", "scrap", "total", "episodes")
MINUTES = ("loss_min", "small_stop_min", "reason_min", "mean_episode_min")
CHOICES = ("lowest_oee", "most_loss", "top_reason", "biggest_loss", "drifting")
TIMES = ("first_above",)
Kind = Literal[
    "availability",
    "performance",
    "quality",
    "oee",
    "good",
    "scrap",
    "total",
    "episodes",
    "loss_min",
    "small_stop_min",
    "reason_min",
    "mean_episode_min",
    "lowest_oee",
    "most_loss",
    "top_reason",
    "biggest_loss",
    "drifting",
    "first_above",
]
#: how an answer is given and compared
Form = Literal["percent", "count", "minutes", "choice", "time"]


def form_of(kind: str) -> Form:
    if kind in RATIOS:
        return "percent"
    if kind in COUNTS:
        return "count"
    if kind in MINUTES:
        return "minutes"
    if kind in CHOICES:
        return "choice"
    return "time"


class AnswerSpec(BaseModel):
    """Where the answer is in the data. Offsets (`from`, `to`) count from the recipe's start."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    kind: Kind
    machine: str | None = Field(None, description="the machine asked about")
    machines: list[str] | None = Field(None, description="choose among these (default: all)")
    state: str | None = Field(None, description="loss_min, episodes, mean_episode_min, most_loss")
    reason: str | None = Field(None, description="reason_min: the stop reason")
    signal: str | None = Field(None, description="first_above: the process value")
    above: float | None = Field(None, description="first_above: the level")
    start: str = Field("0h", alias="from")
    end: str | None = Field(None, alias="to", description="default: the recipe's end")
    threshold_s: float | None = Field(None, description="micro-stop threshold (default: site)")
    minus_from: str | None = Field(
        None, description="a change: this value minus the same over [minus_from, minus_to)"
    )
    minus_to: str | None = None

    @model_validator(mode="after")
    def _needs(self) -> AnswerSpec:
        needs = {
            "loss_min": ("machine", "state"),
            "episodes": ("machine", "state"),
            "mean_episode_min": ("machine", "state"),
            "most_loss": ("state",),
            "reason_min": ("machine", "reason"),
            "top_reason": ("machine",),
            "biggest_loss": ("machine",),
            "drifting": ("machine",),
            "first_above": ("machine", "signal", "above"),
        }.get(self.kind, ("machine",) if self.kind not in ("lowest_oee",) else ())
        missing = [k for k in needs if getattr(self, k) is None]
        if missing:
            raise ValueError(f"answer of kind {self.kind!r} needs {', '.join(missing)}")
        if (self.minus_from is None) != (self.minus_to is None):
            raise ValueError("give both minus_from and minus_to, or neither")
        return self

    @property
    def form(self) -> Form:
        return form_of(self.kind)


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    at: str = Field("0h", description="from this simulated moment (offset) it can be answered")
    ask: Text
    hint: Text
    explain: Text = Field(description="what the number means and where it is found; {answer}")
    answer: AnswerSpec
    tolerance: float = Field(
        0.0, ge=0, description="pp for percentages, units for counts, minutes for minutes and times"
    )
    choices: list[str] | dict[str, Text] | None = Field(
        None, description="choice questions: the codes, or codes with their words"
    )

    @model_validator(mode="after")
    def _choices(self) -> Question:
        if self.answer.form == "choice" and not self.choices:
            raise ValueError(f"question {self.id}: a choice question needs choices")
        for lang in ("en", "nl"):
            for field in ("ask", "hint", "explain"):
                if not getattr(self, field).get(lang):
                    raise ValueError(f"question {self.id}: {field} needs {lang!r}")
        return self
