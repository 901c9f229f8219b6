"""Net flow: arrivals into and departures from work in progress per period (METRICS.md 3.6)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, tzinfo

from insights.item_timeline import (
    DayIndex,
    ItemTimeline,
)
from insights.metrics.shared import (
    Period,
    rows_per_period,
)
from insights.metrics.throughput import throughput
from insights.timeline_index import as_timelines


@dataclass(frozen=True)
class NetFlow:
    """Items started and finished in one period; ``net`` > 0 means WIP grew."""

    start: date
    started: int
    finished: int
    started_keys: tuple[str, ...]
    finished_keys: tuple[str, ...]

    @property
    def net(self) -> int:
        """Started minus finished."""
        return self.started - self.finished


def net_flow(
    timelines: Iterable[ItemTimeline],
    start: date,
    end: date,
    tz: tzinfo,
    period: Period = "week",
) -> list[NetFlow]:
    """Arrivals into and departures from work in progress per period (METRICS.md 3.6).

    Started counts ``started_at``, finished counts ``finished_at`` (cancelled items are not
    finished).
    """
    indexed = as_timelines(timelines)
    window = DayIndex(start, end, tz)
    rows = indexed.started_rows(window.first, window.last)
    starts = rows_per_period(indexed, rows, indexed.columns.started[rows], window, period)
    ends = throughput(indexed, start, end, tz, period)
    return [
        NetFlow(s.start, s.count, f.count, s.item_keys, f.item_keys)
        for s, f in zip(starts, ends, strict=True)
    ]
