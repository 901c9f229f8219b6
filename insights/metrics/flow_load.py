"""Flow load: flow items active, waiting or blocked at the end of each day (METRICS.md 1.6)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, tzinfo

from insights.item_timeline import (
    IN_PROGRESS,
    DayIndex,
    ItemTimeline,
    day_end_states,
)
from insights.metrics.flow_items import FlowTypes
from insights.timeline_index import as_timelines


@dataclass(frozen=True)
class FlowLoad:
    """Flow items in an active, waiting or blocked state at the end of each day (METRICS.md 1.6)."""

    days: list[date]
    load: list[int]
    item_keys: list[tuple[str, ...]]
    by_type: dict[str, list[int]]
    """Per flow type (``unclassified`` for items of none), the daily load."""

    @property
    def mean(self) -> float | None:
        """The period's value: the mean of the daily loads (None for an empty window)."""
        return sum(self.load) / len(self.load) if self.load else None

    @property
    def last(self) -> int | None:
        """The load at the end of the last day."""
        return self.load[-1] if self.load else None


def flow_load(timelines: Iterable[ItemTimeline], start: date, end: date, tz: tzinfo) -> FlowLoad:
    """Flow load per day of ``[start, end)`` from each item's actual state at the end of the day.

    Unlike WIP, this follows the recorded history: an item in progress last week and back in the
    backlog since counts last week.
    """
    indexed = as_timelines(timelines)
    window = DayIndex(start, end, tz)
    type_of = FlowTypes(t.item for t in indexed)
    keys: list[list[str]] = [[] for _ in window.days]
    by_type: dict[str, list[int]] = {}
    first, last = window.first, window.last
    changed = indexed.changed_since(first)
    quiet_wip = [t for t in indexed.in_progress if t.status_since < first]
    for t in [*changed, *quiet_wip]:
        item = t.item
        if item.created_at >= last:
            continue
        since = t.status_since
        days = window.present(item.created_at, None if item.stage in IN_PROGRESS else since)
        counts = None
        key = item.key
        for first_day, stop, _, stage in day_end_states(t, window, days):
            if stage in IN_PROGRESS:
                if counts is None:
                    kind = type_of(item)
                    label = kind.value if kind is not None else "unclassified"
                    counts = by_type.setdefault(label, [0] * len(window.days))
                for k in range(first_day, stop):
                    keys[k].append(key)
                    counts[k] += 1
    return FlowLoad(window.days, [len(k) for k in keys], [tuple(k) for k in keys], by_type)
