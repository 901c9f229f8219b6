"""Bottleneck: the status where work waited longest over the last 30 days.

Waiting time is time items spent in statuses whose stage is waiting or blocked (METRICS 1.5:
blocked counts as waiting), clipped to the window, summed per status in item-days. The status
with the largest share is reported as a heads-up (info): there is always a largest queue, and
it is where to look first when flow slows down.
"""

from __future__ import annotations

from collections import defaultdict

from insights.detectors.support.context import STAY_HORIZON_DAYS, DetectionContext
from insights.detectors.support.wording import DAY_SECONDS, dedupe_key
from insights.findings import Finding, Severity
from insights.model import Stage, WorkItem

NAME = "bottleneck"
WINDOW_DAYS = STAY_HORIZON_DAYS  # 30: the stays the context keeps for recent windows
_WAITING = frozenset({Stage.WAITING, Stage.BLOCKED})


def detect(ctx: DetectionContext) -> list[Finding]:
    """A finding naming the status with the largest share of waiting time."""
    start, now = ctx.days_ago(WINDOW_DAYS), ctx.now
    waiting: dict[str, float] = defaultdict(float)
    items_in: dict[str, list[WorkItem]] = defaultdict(list)
    in_progress_seconds = 0.0
    for (item, status, stage, entered, left), lasted in zip(
        ctx.stays, ctx.stay_seconds, strict=True
    ):
        if left is not None and entered >= start:
            seconds = lasted  # the whole stay is in the window
        else:
            seconds = ((left or now) - (entered if entered > start else start)).total_seconds()
        seconds = max(seconds, 0.0)  # a change dated before the item's creation adds no time
        in_progress_seconds += seconds
        items_in[status].append(item)
        if stage in _WAITING:
            waiting[status] += seconds
    total_waiting = sum(waiting.values())
    if total_waiting <= 0:
        return []
    status = max(sorted(waiting), key=lambda s: waiting[s])
    keys = dict.fromkeys(item.key for item in items_in[status])
    share = waiting[status] / total_waiting
    item_days = waiting[status] / DAY_SECONDS
    return [
        Finding(
            detector=NAME,
            severity=Severity.INFO,
            subject="team",
            title=(
                f"{status} is where work waits most: {share:.0%} of the waiting time in the last "
                f"{WINDOW_DAYS} days ({item_days:.1f} item-days)"
            ),
            action=(
                f"Look at why items wait in {status}: limit how many may queue there, or pair "
                "up on the step after it to pull work through."
            ),
            dedupe_key=dedupe_key(NAME, ctx.team, status.lower()),
            evidence={
                "status": status,
                "waiting_item_days": round(item_days, 1),
                "share_of_waiting_time": round(share, 3),
                "share_of_time_in_progress": round(waiting[status] / in_progress_seconds, 3),
                "total_waiting_item_days": round(total_waiting / DAY_SECONDS, 1),
                "window_days": WINDOW_DAYS,
            },
            item_keys=tuple(keys),
        )
    ]
