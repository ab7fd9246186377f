"""Where each participant stands, from the stored attempts alone: for the exercise page (what
to show next), the trainer's view (who needs help, which question most got wrong) and the
exports."""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from fieldlab.domain.learning import Attempt
from fieldlab.i18n import Lang, t
from fieldlab.learning.exercise import Exercise
from fieldlab.learning.grade import MAX_ATTEMPTS


@dataclass
class QuestionState:
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def solved(self) -> bool:
        return any(a.verdict == "right" for a in self.attempts)

    @property
    def finished(self) -> bool:
        """Solved, or tried often enough that the explanation gives the answer."""
        return self.solved or len(self.attempts) >= MAX_ATTEMPTS

    @property
    def hint_due(self) -> bool:
        """After a first answer that was not right, the hint."""
        return bool(self.attempts) and not self.solved

    @property
    def right_first(self) -> bool:
        return bool(self.attempts) and self.attempts[0].verdict == "right"


@dataclass
class ParticipantProgress:
    participant: str
    questions: dict[str, QuestionState]

    @property
    def answered(self) -> int:
        return sum(1 for s in self.questions.values() if s.attempts)

    @property
    def right_first(self) -> int:
        return sum(1 for s in self.questions.values() if s.right_first)

    @property
    def solved(self) -> int:
        return sum(1 for s in self.questions.values() if s.solved)

    @property
    def hints(self) -> int:
        return sum(
            1 for s in self.questions.values() if s.hint_due or (s.solved and not s.right_first)
        )


def by_participant(ex: Exercise, attempts: list[Attempt]) -> dict[str, ParticipantProgress]:
    out: dict[str, ParticipantProgress] = {}
    for a in attempts:
        if a.run != ex.run:
            continue
        p = out.setdefault(
            a.participant,
            ParticipantProgress(a.participant, {q.id: QuestionState() for q in ex.questions}),
        )
        if a.question in p.questions:
            p.questions[a.question].attempts.append(a)
    return dict(sorted(out.items(), key=lambda kv: kv[0].casefold()))


def state(ex: Exercise, attempts: list[Attempt], participant: str, qid: str) -> QuestionState:
    return QuestionState(
        [a for a in attempts if a.participant == participant and a.question == qid]
    )


@dataclass(frozen=True)
class QuestionStats:
    question: str
    answered: int  # participants who gave an answer
    right_first: int
    wrong_first: int  # first answer close or wrong
    solved: int


def by_question(ex: Exercise, people: dict[str, ParticipantProgress]) -> list[QuestionStats]:
    """Most often not right at the first try first: where the room needs the trainer."""
    stats = []
    for q in ex.questions:
        states = [p.questions[q.id] for p in people.values() if p.questions[q.id].attempts]
        first = sum(1 for s in states if s.right_first)
        stats.append(
            QuestionStats(
                q.id, len(states), first, len(states) - first, sum(s.solved for s in states)
            )
        )
    return sorted(
        stats, key=lambda s: (-s.wrong_first, ex.questions.index(ex.question(s.question)))
    )


def rows(
    ex: Exercise, people: dict[str, ParticipantProgress], lang: Lang
) -> list[dict[str, object]]:
    """One row per participant and question, for the trainer's CSV and Excel export."""
    out: list[dict[str, object]] = []
    for p in people.values():
        for n, q in enumerate(ex.questions, start=1):
            s = p.questions[q.id]
            out.append(
                {
                    t("tr.participant", lang): p.participant,
                    "#": n,
                    t("ex.answer", lang): s.attempts[-1].given if s.attempts else "",
                    t("tr.answered", lang): len(s.attempts),
                    t("tr.right_first", lang): int(s.right_first),
                    t("tr.solved", lang): int(s.solved),
                    t("tr.hints", lang): int(any(a.hint for a in s.attempts) or s.hint_due),
                    t("tr.question", lang): q.ask[lang],
                }
            )
    return out


def summary_html(ex: Exercise, person: ParticipantProgress, lang: Lang) -> str:
    """One participant's page to print or mail: each question, what they answered, the answer
    and what it teaches."""
    e = html.escape
    tz = ex.tz
    items = []
    for q in ex.questions:
        s = person.questions[q.id]
        given = ", ".join(
            f"{e(q.written(a.given, lang, tz) if q.form == 'choice' else a.given)} "
            f"({e(t('ex.' + a.verdict, lang).rstrip('!.'))})"
            for a in s.attempts
        )
        items.append(
            f"<li><p><b>{e(q.ask[lang])}</b></p>"
            f"<p>{e(t('ex.answer', lang))}: {given or '–'}</p>"
            f"<p>{e(t('ex.explain', lang))}: {e(q.explanation(lang, tz))}</p></li>"
        )
    return (
        f'<!doctype html><html lang="{lang}"><meta charset="utf-8">'
        f"<title>{e(ex.title[lang])} · {e(person.participant)}</title>"
        "<style>body{font-family:sans-serif;max-width:40em;margin:2em auto}"
        "li{margin-bottom:1em}@media print{a{display:none}}</style>"
        f"<h1>{e(ex.title[lang])}</h1><h2>{e(person.participant)}</h2>"
        f"<p>{e(ex.goal[lang])}</p>"
        f"<p>{e(t('tr.right_first', lang))}: {person.right_first} / {len(ex.questions)} · "
        f"{e(t('tr.solved', lang))}: {person.solved} / {len(ex.questions)}</p>"
        f"<ol>{''.join(items)}</ol></html>"
    )
