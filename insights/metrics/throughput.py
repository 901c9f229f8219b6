"""Throughput: items finished per day or Monday week, zero-filled (METRICS.md 3.5, 1.3)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, tzinfo

from insights.item_timeline import (
    DayIndex,
    ItemTimeline,
)
from insights.metrics.shared import (
    Period,
    PeriodCount,
    rows_per_period,
)
from insights.timeline_index import as_timelines


def throughput(
    timelines: Iterable[ItemTimeline],
    start: date,
    end: date,
    tz: tzinfo,
    period: Period = "day",
) -> list[PeriodCount]:
    """Items finished per day or Monday week of ``[start, end)``, zero-filled (METRICS.md 3.5)."""
    indexed = as_timelines(timelines)
    window = DayIndex(start, end, tz)
    rows = indexed.finished_rows(window.first, window.last)
    return rows_per_period(indexed, rows, indexed.columns.finished[rows], window, period)
