"""Blocked time: flagged and blocked-stage time of items (METRICS.md 3.10; waste, 3.11)."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo

from insights.item_timeline import (
    FINISHED,
    ItemTimeline,
    clip,
    local_date,
    total_seconds,
    union_seconds,
)
from insights.metrics.cycle_time import cycle_seconds
from insights.model import Stage
from insights.timeline_index import Timelines, as_timelines

_BLOCKED = frozenset({Stage.BLOCKED})


@dataclass(slots=True)
class BlockedTime:
    """How long one item was blocked between its start and its finish (or now)."""

    key: str
    flagged_seconds: float
    blocked_stage_seconds: float
    blocked_seconds: float
    """The union of flagged and blocked-stage time (never counted twice)."""
    blocked_days_jam: int
    """jira-agile-metrics: calendar days of the flags set while in progress."""
    blocked_by: tuple[str, ...]
    """Keys of unfinished items it is linked as "blocked by" (a reason without a duration)."""


def item_blocked_time(
    t: ItemTimeline, now: datetime, tz: tzinfo, finished_keys: Collection[str] = ()
) -> BlockedTime:
    """Blocked time of one item (METRICS.md 3.10 DECISION and JAM's ``blocked_days``).

    Counted within ``[started_at, finished_at or cancelled_at or now]``; a flag never cleared ends
    at the finish (or ``now``). A flag set before the start counts from the start in seconds, and
    not at all in JAM days (JAM counts only flags set while in progress). ``finished_keys`` are the
    keys of finished items, whose "blocked by" links are resolved.
    """
    links = t.item.blocked_by
    open_links = (
        tuple(k for k in links if k not in finished_keys) if links and t.in_progress else ()
    )
    start = t.started_at
    ever_blocked = t.ever_blocked
    if start is None or not (t.flags or ever_blocked):
        return BlockedTime(t.item.key, 0.0, 0.0, 0.0, 0, open_links)
    end = t.ended_at or now
    if end <= start:
        return BlockedTime(t.item.key, 0.0, 0.0, 0.0, 0, open_links)
    spans = t.flag_spans()
    flagged = clip(spans, start, end)
    staged = clip(t.stage_spans(_BLOCKED), start, end) if ever_blocked else []
    jam_days = sum(
        (local_date(cleared or end, tz) - local_date(since, tz)).days
        for since, cleared in spans
        if start <= since < end
    )
    return BlockedTime(
        key=t.item.key,
        flagged_seconds=total_seconds(flagged),
        blocked_stage_seconds=total_seconds(staged),
        blocked_seconds=union_seconds(flagged + staged),
        blocked_days_jam=jam_days,
        blocked_by=open_links,
    )


@dataclass(frozen=True)
class BlockedSummary:
    """Blocked time of the items finished in a window and of those in progress now."""

    items: list[BlockedTime]
    """Items with any blocked time or open "blocked by" link, most blocked first."""
    finished_blocked_seconds: float
    finished_cycle_seconds: float
    item_keys: tuple[str, ...]

    @property
    def blocked_share(self) -> float | None:
        """Waste signal (METRICS.md 3.11): blocked time over cycle time of the finished items."""
        if not self.finished_cycle_seconds:
            return None
        return self.finished_blocked_seconds / self.finished_cycle_seconds


def blocked_time(
    timelines: Iterable[ItemTimeline], start: datetime, end: datetime, now: datetime, tz: tzinfo
) -> BlockedSummary:
    """Blocked time of items finished in ``[start, end)`` and of items in progress at ``now``."""
    indexed = as_timelines(timelines)
    rows = indexed.finished_rows(start, end).tolist()
    wip = indexed.in_progress
    finished_keys: set[str] = set()
    if any(t.item.blocked_by for t in wip):
        finished_keys = {t.item.key for t in indexed if t.item.stage in FINISHED}
    found = []
    blocked_sum = cycle_sum = 0.0
    for b, cycle in zip(
        finished_blocked_times(indexed, rows, tz), cycle_seconds(indexed, rows), strict=True
    ):
        blocked_sum += b.blocked_seconds
        cycle_sum += cycle or 0.0
        if b.blocked_seconds > 0:
            found.append(b)
    for t in wip:
        b = item_blocked_time(t, now, tz, finished_keys)
        if b.blocked_seconds > 0 or b.blocked_by:
            found.append(b)
    found.sort(key=lambda b: (-b.blocked_seconds, b.key))
    return BlockedSummary(found, blocked_sum, cycle_sum, tuple(b.key for b in found))


def finished_blocked_times(
    timelines: Timelines, rows: Iterable[int], tz: tzinfo
) -> list[BlockedTime]:
    """:func:`item_blocked_time` of the finished timelines at ``rows``.

    Each is computed once: a finished item's blocked time no longer changes.
    """

    def blocked(t: ItemTimeline) -> BlockedTime:
        if t.ended_at is None:
            raise ValueError(f"{t.item.key} has not finished: its blocked time depends on now")
        return item_blocked_time(t, t.ended_at, tz)

    return timelines.each(("blocked", tz), rows, blocked)
