"""One recipe run's exercise as the dashboard reads it: the questions with their words, the
simulated moment each opens, the answer and how it is written. `fieldlab recipe run` writes it
beside its store (`exercise.json`); the exercise and trainer pages read it and the store's
attempts, never the simulator."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from fieldlab.i18n import Lang, formats
from fieldlab.learning.grade import minutes_of_day
from fieldlab.learning.questions import Form, Text

#: how early (simulated) a question may open: more than a process interval, a minute of a shift
OPEN_SLACK_MS = 120_000


class Choice(BaseModel):
    code: str
    label: Text


class ExerciseQuestion(BaseModel):
    id: str
    opens_ms: int  # simulated time from which it can be answered
    ask: Text
    hint: Text
    explain: Text
    form: Form
    tolerance: float
    choices: list[Choice] = []
    answer: float | int | str

    def label(self, code: str, lang: Lang) -> str:
        for c in self.choices:
            if c.code == code:
                return c.label.get(lang) or c.code
        return code

    def written(self, value: float | int | str, lang: Lang, tz: ZoneInfo) -> str:
        """An answer (the key's or a participant's) as the reader writes it."""
        if self.form == "choice":
            return self.label(str(value), lang)
        if self.form == "time":
            m = minutes_of_day(int(value), tz)
            return f"{m // 60:02d}:{m % 60:02d}"
        x = float(value)
        if self.form == "percent":
            return f"{formats.number(x, lang, 1)} %"
        if self.form == "minutes":
            return f"{formats.number(x, lang, 1)} min"
        return formats.number(x, lang, 0)

    def margin(self, lang: Lang) -> str:
        """How far from the key an answer may be and still be right, as the reader writes it
        (`±0,5 pp`, `±2 min`); empty where it must be exact. The one wording of a question's
        tolerance: the exercise page, its feedback and the trainer sheet all show this."""
        if self.form == "choice" or not self.tolerance:
            return ""
        digits = 0 if float(self.tolerance).is_integer() else 1
        n = formats.number(self.tolerance, lang, digits)
        unit = {"percent": " pp", "minutes": " min", "time": " min"}.get(self.form, "")
        return f"±{n}{unit}"

    def explanation(self, lang: Lang, tz: ZoneInfo) -> str:
        return self.explain[lang].replace("{answer}", self.written(self.answer, lang, tz))


class Exercise(BaseModel):
    recipe: str
    run: str  # "<recipe>@<start ms>": the attempts of this run in the store
    title: Text
    goal: Text
    timezone: str
    start_ms: int
    end_ms: int
    self_paced: bool = False
    questions: list[ExerciseQuestion]

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def question(self, qid: str) -> ExerciseQuestion:
        return next(q for q in self.questions if q.id == qid)

    def is_open(self, q: ExerciseQuestion, now_ms: int) -> bool:
        """Open once the data's clock is within OPEN_SLACK_MS of its moment: the last sample
        before a paused simulation's moment may be a process interval earlier."""
        return q.opens_ms <= now_ms + OPEN_SLACK_MS

    def save(self, path: Path) -> None:
        path.write_text(self.model_dump_json(indent=2), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Exercise:
        return cls.model_validate_json(path.read_text(encoding="utf-8"))
