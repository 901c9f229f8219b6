"""Rework in a value stream (METRICS.md 6, %C&A): which steps an item was sent back into.

A move to a status earlier on the board is backflow (METRICS.md 3.1). The map charges it to the
step the item returns to, so that step's share of items complete and accurate falls.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from insights.item_timeline import ItemTimeline
from insights.model import Stage

_OFF_BOARD = frozenset({Stage.BLOCKED, Stage.CANCELLED})
"""Stages that are no place on the board: moving through them is no return."""


class BoardPositions(dict[str, int | None]):
    """Board position of a status as spelled (None: not on the board), looked up once each.

    A status is matched whatever its case; of two spellings of one status, the first counts.
    """

    def __init__(self, statuses: Sequence[str]) -> None:
        super().__init__()
        self.order: dict[str, int] = {}
        for position, status in enumerate(statuses):
            self.order.setdefault(status.lower(), position)

    def __missing__(self, status: str) -> int | None:
        position = self[status] = self.order.get(status.lower())
        return position


def sent_back(
    timeline: ItemTimeline,
    spans: Sequence[tuple[datetime, datetime] | None],
    positions: BoardPositions,
    now: datetime,
) -> set[int]:
    """The counted steps the item was sent back into (rework, METRICS.md 3.1 and 6).

    A move to a status earlier on the board (blocked and cancelled statuses are no place on it)
    returns the item to where it was when it first reached that status or a later one; the step
    whose span holds that instant is charged with it.
    """
    transitions = timeline.transitions
    if not transitions:
        return set()
    current = positions[transitions[0].from_status or timeline.item.status]
    first_at: dict[int, datetime] = {} if current is None else {current: timeline.item.created_at}
    returned: list[datetime] = []
    for transition in transitions:
        if transition.at > now:
            break
        if transition.to_stage in _OFF_BOARD:
            continue
        position = positions[transition.to_status]
        if position is None:
            continue
        if current is not None and position < current:
            reached = [at for p, at in first_at.items() if p >= position]
            returned.append(min(reached) if reached else transition.at)
        if position not in first_at:
            first_at[position] = transition.at
        current = position
    charged = set()
    for instant in returned:
        for index, span in enumerate(spans):
            if span is not None and span[0] <= instant < span[1]:
                charged.add(index)
                break
    return charged
