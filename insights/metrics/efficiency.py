"""Flow efficiency: active time over flow time of the items finished (METRICS.md 1.5)."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter

from insights.item_timeline import (
    ItemTimeline,
    Span,
    clip,
    overlap_seconds,
)
from insights.model import Stage
from insights.percentiles import median
from insights.timeline_index import as_timelines

_ACTIVE = Stage.ACTIVE


_AT = attrgetter("at")


@dataclass(slots=True)
class ItemEfficiency:
    """Active and total flow time of one finished item."""

    key: str
    active_seconds: float
    flow_seconds: float

    @property
    def efficiency(self) -> float:
        """Active share of the flow time, in [0, 1]."""
        return self.active_seconds / self.flow_seconds


def item_efficiency(t: ItemTimeline) -> ItemEfficiency | None:
    """Active time of a finished item (METRICS.md 1.5); None if unfinished or of zero flow time.

    Active time is the time in active stages between start and finish, minus the flagged part of
    it; the rest (waiting, blocked, back in the backlog, done before a reopen) is waiting time.
    A flag never cleared ends at the finish.
    """
    start, finish = t.started_at, t.finished_at
    if start is None or finish is None or finish <= start:
        return None
    return ItemEfficiency(
        t.item.key, active_seconds(t, start, finish), (finish - start).total_seconds()
    )


def active_seconds(t: ItemTimeline, start: datetime, finish: datetime) -> float:
    """The time ``t``'s item spent in active stages between ``start`` and ``finish``, unflagged.

    A flag never cleared ends at ``finish``. This is the work in flow efficiency (METRICS.md 1.5)
    and the process time of a board step of the value stream (METRICS.md 6).
    """
    if finish <= start:
        return 0.0
    active: list[Span] = []
    seconds = 0.0
    flagged = bool(t.flags)
    # The stays of t.stays(start), read in place: each status from its entry to the next change.
    transitions = t.transitions
    count = len(transitions)
    i = bisect_right(transitions, start, key=_AT) if count else 0
    stage: Stage | None
    if i:
        stage, entered = transitions[i - 1].to_stage, transitions[i - 1].at
    else:
        stage = transitions[0].from_stage if count else t.item.stage
        entered = t.item.created_at
    while entered < finish:
        left = transitions[i].at if i < count else None
        if stage is _ACTIVE:
            a = entered if entered > start else start
            b = finish if left is None or left > finish else left
            if a < b:
                seconds += (b - a).total_seconds()
                if flagged:
                    active.append((a, b))
        if left is None:
            break
        stage, entered = transitions[i].to_stage, left
        i += 1
    if flagged:
        seconds -= overlap_seconds(active, clip(t.flag_spans(), start, finish))
    return seconds


@dataclass(frozen=True)
class FlowEfficiency:
    """Flow efficiency of the items finished in a window."""

    ratio: float | None
    """Sum of active time over sum of flow time (METRICS.md 1.5 DECISION)."""
    median: float | None
    """Median of the items' own efficiencies (linear median)."""
    active_seconds: float
    waiting_seconds: float
    items: list[ItemEfficiency]
    item_keys: tuple[str, ...]

    @property
    def no_waiting_time(self) -> bool:
        """Data-quality hint: items finished yet none ever waited (no waiting state mapped?)."""
        return bool(self.items) and self.waiting_seconds == 0


def flow_efficiency(
    timelines: Iterable[ItemTimeline], start: datetime, end: datetime
) -> FlowEfficiency:
    """Flow efficiency over the items finished in ``[start, end)``; None values when none."""
    indexed = as_timelines(timelines)
    rows = indexed.finished_rows(start, end).tolist()
    items = [e for e in indexed.each("efficiency", rows, item_efficiency) if e is not None]
    active = sum(e.active_seconds for e in items)
    flow = sum(e.flow_seconds for e in items)
    return FlowEfficiency(
        ratio=active / flow if flow else None,
        median=median([e.efficiency for e in items]),
        active_seconds=active,
        waiting_seconds=flow - active,
        items=items,
        item_keys=tuple(e.key for e in items),
    )
