"""Work in progress at the end of each day, by status (METRICS.md 3.3)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, tzinfo

from insights.item_timeline import (
    DayIndex,
    ItemTimeline,
    day_end_states,
)
from insights.metrics.flow_items import item_timelines
from insights.model import Snapshot
from insights.timeline_index import as_timelines


@dataclass(frozen=True)
class DailyWip:
    """Work in progress at the end of one day, by the status each item was in then."""

    day: date
    wip: int
    by_status: dict[str, int]
    item_keys: tuple[str, ...]


def wip_per_day(
    source: Snapshot | Iterable[ItemTimeline], start: date, end: date, tz: tzinfo
) -> list[DailyWip]:
    """WIP at the end of each day of ``[start, end)`` (METRICS.md 3.3), with per-status counts.

    An item is WIP on day d when it started on or before d and did not finish or get cancelled on
    or before d. ``by_status`` counts those items by the status they were in at the end of d
    (``sum(by_status.values()) == wip``).
    """
    timelines = item_timelines(source) if isinstance(source, Snapshot) else as_timelines(source)
    window = DayIndex(start, end, tz)
    keys: list[list[str]] = [[] for _ in window.days]
    statuses: list[list[str]] = [[] for _ in window.days]
    for t in timelines.live_between(window.first, window.last):
        started = t.started_at
        assert started is not None
        key = t.item.key
        for first, stop, status, _ in day_end_states(
            t, window, window.present(started, t.ended_at)
        ):
            for k in range(first, stop):
                keys[k].append(key)
                statuses[k].append(status)
    return [
        DailyWip(day, len(k), dict(Counter(s)), tuple(k))
        for day, k, s in zip(window.days, keys, statuses, strict=True)
    ]
