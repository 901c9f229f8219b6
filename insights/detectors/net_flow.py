"""Net flow: the team started more items than it finished over the last week (METRICS 3.6).

Started = first entry into progress in the last 7 days, finished = done in the last 7 days.
A heads-up (info) on its own; a warning when the team is also over its WIP limit, because then
the growing WIP is already past what the team agreed to carry.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from insights.detectors.support.context import DetectionContext
from insights.detectors.support.wording import dedupe_key, plural
from insights.findings import Finding, Severity

NAME = "net_flow"
WINDOW_DAYS = 7


def detect(ctx: DetectionContext) -> list[Finding]:
    """A finding when more items started than finished in the last week."""
    start, now = ctx.days_ago(WINDOW_DAYS).timestamp(), ctx.now.timestamp()
    table = ctx.timelines.columns
    recent = ctx.recent_mask
    started = _keys(table.keys, recent & (table.started >= start) & (table.started < now))
    finished = _keys(table.keys, recent & (table.finished >= start) & (table.finished < now))
    if len(started) <= len(finished):
        return []
    wip, limit = len(ctx.in_progress), ctx.agreements.wip_limit
    over_limit = limit is not None and wip > limit
    return [
        Finding(
            detector=NAME,
            severity=Severity.WARN if over_limit else Severity.INFO,
            subject="team",
            title=(
                f"The team started {plural(len(started), 'item')} and finished {len(finished)} "
                f"in the last {WINDOW_DAYS} days: work in progress is growing"
                + (f" past its limit of {limit}" if over_limit else "")
            ),
            action="Finish before starting: pick up review, testing or an unblock before new work.",
            dedupe_key=dedupe_key(NAME, ctx.team, "team"),
            evidence={
                "started_items": len(started),
                "finished_items": len(finished),
                "net_flow_items": len(started) - len(finished),
                "wip_items": wip,
                "window_days": WINDOW_DAYS,
            },
            item_keys=tuple(started),
        )
    ]


def _keys(keys: list[str], mask: npt.NDArray[np.bool_]) -> list[str]:
    return [keys[row] for row in np.flatnonzero(mask).tolist()]
