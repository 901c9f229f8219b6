"""Cycle time: start to finish of the items finished in a window (METRICS.md 3.2, 1.4).

The scatter points, the summary (mean and nearest-rank percentiles) and the AA calendar-day cycle
times the SLE and the aging detector share. Items with a negative cycle time are left out
(METRICS.md 0.5).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from insights.item_timeline import (
    ItemTimeline,
)
from insights.metrics.shared import (
    DurationSummary,
    summarize,
)
from insights.timeline_index import Timelines, as_timelines


@dataclass(slots=True)
class ScatterPoint:
    """One finished item on the cycle-time scatter."""

    key: str
    title: str
    finished_at: datetime
    cycle_time_seconds: float
    cycle_time_days: int
    """ActionableAgile calendar days (same-day work is 1 day)."""
    url: str | None

    @property
    def cycle_time_days_jam(self) -> int:
        """jira-agile-metrics calendar days (same-day work is 0 days)."""
        return self.cycle_time_days - 1


def finished_between(
    timelines: Iterable[ItemTimeline], start: datetime, end: datetime
) -> list[tuple[ItemTimeline, datetime, datetime]]:
    """``(timeline, started_at, finished_at)`` of the items finished in ``[start, end)``.

    Oldest finish first; items with a negative cycle time are left out (METRICS.md 0.5).
    """
    out = []
    for t in as_timelines(timelines).finished_between(start, end):
        started, finished = t.started_at, t.finished_at
        if started is not None and finished is not None and started <= finished:
            out.append((t, started, finished))
    return out


def cycle_time_points(
    timelines: Iterable[ItemTimeline], start: datetime, end: datetime, tz: tzinfo = UTC
) -> list[ScatterPoint]:
    """Every item finished in ``[start, end)``, oldest finish first (AA days counted in ``tz``)."""
    return [
        ScatterPoint(
            t.item.key,
            t.item.title,
            finished,
            (finished - started).total_seconds(),
            (finished.astimezone(tz).date() - started.astimezone(tz).date()).days + 1,
            t.item.url,
        )
        for t, started, finished in finished_between(timelines, start, end)
    ]


def cycle_time_summary(
    timelines: Iterable[ItemTimeline], start: datetime, end: datetime
) -> DurationSummary:
    """Cycle time (start to finish) of the items finished in ``[start, end)``."""
    indexed = as_timelines(timelines)
    rows = indexed.finished_rows(start, end).tolist()
    keys = indexed.columns.keys
    return summarize(
        [
            (keys[row], seconds)
            for row, seconds in zip(rows, cycle_seconds(indexed, rows), strict=True)
            if seconds is not None
        ]
    )


def cycle_seconds(timelines: Timelines, rows: Iterable[int]) -> list[float | None]:
    """:meth:`ItemTimeline.cycle_time_seconds` of the timelines at ``rows`` (each computed once)."""
    return timelines.each("cycle_seconds", rows, ItemTimeline.cycle_time_seconds)


def cycle_days(
    timelines: Iterable[ItemTimeline], start: datetime, end: datetime, tz: tzinfo
) -> tuple[list[str], list[int]]:
    """Keys and AA calendar-day cycle times of the items finished in ``[start, end)``.

    The same items, order and days as :func:`cycle_time_points`, without building the points;
    each item's days are worked out once per time zone (the SLE, its compliance and the aging
    detector share them).
    """
    indexed = as_timelines(timelines)
    known: dict[int, int] = indexed.memo(("cycle_days", tz), dict)
    keys, days = [], []
    for row in indexed.finished_rows(start, end).tolist():
        count = known.get(row)
        if count is None:
            t = indexed[row]
            started, finished = t.started_at, t.finished_at
            if started is None or finished is None or finished < started:
                count = known[row] = -1  # no cycle time (METRICS.md 0.5)
            else:
                count = (finished.astimezone(tz).date() - started.astimezone(tz).date()).days + 1
                known[row] = count
        if count >= 0:
            keys.append(indexed.columns.keys[row])
            days.append(count)
    return keys, days
