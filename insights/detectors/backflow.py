"""Backflow: items moved back in the last week (reopened, or QA back to In Progress).

A move is backwards when it leaves done for a status that is not finished (reopened, warn), or
when it goes to a status earlier in the team's board order (``snapshot.statuses``; info). Moves
into or out of blocked and cancelled statuses are not backflow: being blocked or unblocked is not
rework. Without a board order, only reopens and moves from progress back to the backlog count.
Each move is its own finding (its key carries the instant of the move), latest first.
"""

from __future__ import annotations

import numpy as np

from insights.detectors.support.context import IN_PROGRESS, DetectionContext
from insights.detectors.support.ranking import Candidate, more_items, report_worst
from insights.detectors.support.wording import assigned, dedupe_key
from insights.findings import Finding, Severity
from insights.item_timeline import ItemTimeline
from insights.model import Stage, Transition, WorkItem

NAME = "backflow"
WINDOW_DAYS = 7
_NOT_ON_BOARD = frozenset({Stage.BLOCKED, Stage.CANCELLED})
_FINISHED = frozenset({Stage.DONE, Stage.CANCELLED})


def _is_reopen(t: Transition) -> bool:
    return t.from_stage is Stage.DONE and t.to_stage not in _FINISHED


def _position(status: str, order: dict[str, int]) -> int | None:
    position = order.get(status)
    return position if position is not None else order.get(status.lower())


def _is_moved_back(t: Transition, order: dict[str, int]) -> bool:
    if t.from_stage in _NOT_ON_BOARD or t.to_stage in _NOT_ON_BOARD or t.from_status is None:
        return False
    before, after = _position(t.from_status, order), _position(t.to_status, order)
    if before is not None and after is not None:
        return after < before
    return t.from_stage in IN_PROGRESS and t.to_stage is Stage.BACKLOG


def detect(ctx: DetectionContext) -> list[Finding]:
    """One finding per backward move of an item in the last week."""
    start, now = ctx.days_ago(WINDOW_DAYS), ctx.now
    order = ctx.status_order
    candidates = []
    timelines = ctx.timelines
    table = timelines.columns
    moved = ctx.recent_mask & table.has_history & (table.status_since >= start.timestamp())
    rows = np.flatnonzero(moved).tolist()  # the rest did not move this week

    def moves_back(timeline: ItemTimeline) -> list[tuple[Transition, bool]]:
        return [
            (t, reopened)
            for t in timeline.transitions
            if (reopened := _is_reopen(t)) or _is_moved_back(t, order)
        ]

    each_item = timelines.each(("backflow", tuple(ctx.snapshot.statuses)), rows, moves_back)
    for row, moves in zip(rows, each_item, strict=True):
        item = timelines[row].item
        for transition, reopened in reversed(moves):
            if transition.at < start:
                break
            if transition.at > now:
                continue
            severity = Severity.WARN if reopened else Severity.INFO
            recency = transition.at.timestamp()
            candidates.append((Candidate.of(severity, recency, item.key), (item, transition)))
    return report_worst(
        NAME,
        ctx.team,
        candidates,
        lambda move: _finding(ctx, *move),
        lambda n: more_items(n, f"moved back on the board in the last {WINDOW_DAYS} days"),
        "Look for a pattern in what sends work back, and bring it to the next retrospective.",
    )


def _finding(ctx: DetectionContext, item: WorkItem, transition: Transition) -> Finding:
    reopened = _is_reopen(transition)
    when = transition.at.astimezone(ctx.tz).strftime("%a %d %b")
    moved = f"from {transition.from_status} back to {transition.to_status} on {when}"
    return Finding(
        detector=NAME,
        severity=Severity.WARN if reopened else Severity.INFO,
        subject=item.key,
        title=f"{item.key} was reopened: moved {moved}"
        if reopened
        else f"{item.key} moved {moved}",
        action=(
            "Find out what was missed before Done, and whether the definition of done needs a "
            "check for it."
            if reopened
            else "Ask what sent it back (unclear criteria, a late defect) and bring it to the "
            "next retrospective."
        ),
        dedupe_key=dedupe_key(NAME, ctx.team, item.key, transition.at.isoformat()),
        evidence={
            "moved_at": transition.at.isoformat(),
            "from_status": transition.from_status or "",
            "to_status": transition.to_status,
            "window_days": WINDOW_DAYS,
        },
        item_keys=(item.key,),
        url=item.url,
        **assigned(item),
    )
