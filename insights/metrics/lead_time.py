"""Lead time: created to finished, reported apart from cycle time (METRICS.md 3.2, 0).

Also DevLake's issue lead time in whole minutes, floored (METRICS.md 0).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from insights.item_timeline import (
    ItemTimeline,
)
from insights.metrics.shared import (
    DurationSummary,
    summarize,
)
from insights.timeline_index import as_timelines


def lead_time_summary(
    timelines: Iterable[ItemTimeline], start: datetime, end: datetime
) -> DurationSummary:
    """Lead time (created to finished, never mixed with cycle time) of items finished in window."""
    indexed = as_timelines(timelines)
    rows = indexed.finished_rows(start, end).tolist()
    keys = indexed.columns.keys
    lead = indexed.each("lead_seconds", rows, ItemTimeline.lead_time_seconds)
    return summarize(
        [
            (keys[row], seconds)
            for row, seconds in zip(rows, lead, strict=True)
            if seconds is not None
        ]
    )


def issue_lead_time_minutes(timeline: ItemTimeline) -> int | None:
    """DevLake's issue lead time: whole minutes from creation to finish, floored; None if none."""
    seconds = timeline.lead_time_seconds()
    return None if seconds is None else int(seconds // 60)
