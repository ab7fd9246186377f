"""Where each participant stands, from the stored attempts alone: for the exercise page (what
to show next), the trainer's view (who needs help, which question most got wrong) and the
exports."""

from __future__ import annotations

from dataclasses import dataclass, field

from fieldlab.domain.learning import Attempt
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
