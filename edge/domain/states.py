"""Machine states (domain.md §3) and the OEE bucket each belongs to."""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    RUNNING = "running"
    IDLE = "idle"
    STARVED = "starved"
    BLOCKED = "blocked"
    FAULT = "fault"
    SETUP = "setup"
    PLANNED_STOP = "planned_stop"
    OFFLINE = "offline"


#: Fixed order; the index of a state here is its code in the engine's arrays.
STATES: tuple[State, ...] = tuple(State)
STATE_CODE: dict[str, int] = {s.value: i for i, s in enumerate(STATES)}

#: States that make up a stop episode (§5): everything but running and planned_stop.
STOP_STATES: frozenset[State] = frozenset(STATES) - {State.RUNNING, State.PLANNED_STOP}

#: Categories whose short episodes are small stops (performance loss), not downtime.
SMALL_STOP_CATEGORIES: frozenset[State] = frozenset(
    {State.IDLE, State.STARVED, State.BLOCKED, State.FAULT}
)

#: Downtime categories in the order `fieldlab oee` reports them.
LOSS_CATEGORIES: tuple[State, ...] = (
    State.FAULT,
    State.SETUP,
    State.IDLE,
    State.STARVED,
    State.BLOCKED,
    State.OFFLINE,
)

#: Reason given to an offline episode nobody explained.
NO_DATA_REASON = "no_data"


def state_code(value: object) -> int:
    """Engine code of a stored state value; anything unknown counts as offline (no contact)."""
    code = STATE_CODE.get(value) if isinstance(value, str) else None
    return STATE_CODE[State.OFFLINE] if code is None else code
