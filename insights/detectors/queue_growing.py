"""Queue growing: a waiting status whose item count has been climbing for two weeks.

The count of items in each waiting status is sampled once a day at the same hour as now, over the
last 14 days (the band of that status in the cumulative flow diagram). A least-squares trend over
those 15 samples that rises by ``MIN_GROWTH_ITEMS`` or more, with more items now than at the start,
is a queue piling up in front of the next step (warn).
"""

from __future__ import annotations

import math
from collections import defaultdict

from insights.detectors.support.context import DetectionContext
from insights.detectors.support.wording import DAY_SECONDS, dedupe_key, plural
from insights.findings import Finding, Severity
from insights.model import Stage

NAME = "queue_growing"
WINDOW_DAYS = 14
MIN_GROWTH_ITEMS = 3.0
"""The trend must add at least this many items over the window."""


def _trend(counts: list[int]) -> float:
    """Growth over the whole series of the least-squares line through ``counts``."""
    n = len(counts)
    mean_x, mean_y = (n - 1) / 2, sum(counts) / n
    spread = sum((x - mean_x) ** 2 for x in range(n))
    slope = sum((x - mean_x) * (y - mean_y) for x, y in enumerate(counts)) / spread
    return slope * (n - 1)


def daily_counts(ctx: DetectionContext, window_days: int = WINDOW_DAYS) -> dict[str, list[int]]:
    """Items in each waiting status at now minus k days, k = window_days..0 (oldest first)."""
    return _queues(ctx, window_days)[0]


def _queues(
    ctx: DetectionContext, window_days: int = WINDOW_DAYS
) -> tuple[dict[str, list[int]], dict[str, list[str]]]:
    """:func:`daily_counts`, and per waiting status the keys of the items in it now."""
    samples = window_days + 1
    first = ctx.days_ago(window_days)
    changes: dict[str, list[int]] = defaultdict(lambda: [0] * (samples + 1))
    waiting_now: dict[str, list[str]] = defaultdict(list)
    for item, status, stage, entered, left in ctx.stays:
        if stage is not Stage.WAITING or (left is not None and left <= first):
            continue
        # present at sample k when entered <= first + k days < left
        begin = max(0, math.ceil((entered - first).total_seconds() / DAY_SECONDS))
        end = samples
        if left is not None:
            end = min(samples, math.ceil((left - first).total_seconds() / DAY_SECONDS))
        else:
            waiting_now[status].append(item.key)
        if begin < end:
            changes[status][begin] += 1
            changes[status][end] -= 1
    counts = {}
    for status, deltas in changes.items():
        running, series = 0, []
        for delta in deltas[:samples]:
            running += delta
            series.append(running)
        counts[status] = series
    return counts, waiting_now


def detect(ctx: DetectionContext) -> list[Finding]:
    """Findings for waiting statuses whose queue grew over the last two weeks."""
    findings = []
    queues, waiting_now = _queues(ctx)
    for status, counts in sorted(queues.items()):
        growth = _trend(counts)
        if growth < MIN_GROWTH_ITEMS or counts[-1] <= counts[0]:
            continue
        now_keys = tuple(waiting_now[status])
        findings.append(
            Finding(
                detector=NAME,
                severity=Severity.WARN,
                subject="team",
                title=(
                    f"{status} is piling up: {plural(counts[-1], 'item')} now, up from "
                    f"{counts[0]} two weeks ago"
                ),
                action=(
                    f"Swarm on the step after {status} to drain it, and pull no new work into "
                    "it until it shrinks."
                ),
                dedupe_key=dedupe_key(NAME, ctx.team, status.lower()),
                evidence={
                    "status": status,
                    "queue_items_now": counts[-1],
                    f"queue_items_{WINDOW_DAYS}_days_ago": counts[0],
                    "trend_growth_items": round(growth, 1),
                    "daily_counts": " ".join(str(c) for c in counts),
                    "window_days": WINDOW_DAYS,
                },
                item_keys=now_keys,
            )
        )
    return findings
