"""Stale item: in-progress work nobody has touched for ``agreements.stale_after_days``.

A change is a transition, a flag set or cleared, or any update the source reports
(``updated_at``: a comment, an edit). Warn past the agreement, critical past three times it.
Blocked items are left to ``blocked_item``: waiting on a blocker is expected to look quiet.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from insights.detectors.support.context import DetectionContext
from insights.detectors.support.ranking import Candidate, more_items, report_worst
from insights.detectors.support.severity import past_threshold
from insights.detectors.support.wording import DAY_SECONDS, assigned, days, dedupe_key
from insights.findings import Finding, Severity
from insights.item_timeline import ItemTimeline
from insights.model import Stage

NAME = "stale_item"


def detect(ctx: DetectionContext) -> list[Finding]:
    """Findings for in-progress items without any change for longer than the agreement."""
    limit_days = ctx.agreements.stale_after_days
    now, flags_of = ctx.now, ctx.snapshot.flags
    quiet_since = now - timedelta(days=limit_days)
    candidates = []
    for timeline in ctx.in_progress:
        item = timeline.item
        last_change = timeline.status_since
        if last_change < item.updated_at <= now:
            last_change = item.updated_at
        if last_change > quiet_since:
            continue  # changed lately: the common case
        flags = flags_of.get(item.id)
        if item.stage is Stage.BLOCKED or (flags and flags[-1].flagged):
            continue  # blocked_item's business
        if flags and last_change < flags[-1].at <= now:
            last_change = flags[-1].at
        if last_change > quiet_since:
            continue
        quiet_days = (now - last_change).total_seconds() / DAY_SECONDS
        severity = past_threshold(quiet_days, limit_days)
        if severity is not None:
            payload = (timeline, last_change, quiet_days, severity)
            candidates.append((Candidate.of(severity, quiet_days, item.key), payload))
    return report_worst(
        NAME,
        ctx.team,
        candidates,
        lambda payload: _finding(ctx, *payload),
        lambda n: more_items(n, f"in progress have not changed for over {days(limit_days)}"),
        "Go through them with the team: update each, or move it back to the backlog.",
    )


def _finding(
    ctx: DetectionContext,
    timeline: ItemTimeline,
    last_change: datetime,
    quiet_days: float,
    severity: Severity,
) -> Finding:
    item = timeline.item
    return Finding(
        detector=NAME,
        severity=severity,
        subject=item.key,
        title=f"{item.key} has not changed for {days(quiet_days)} (still {item.status})",
        action=(
            f"Say whether {item.key} is still being worked on: update it, ask for help, or move "
            "it back to the backlog."
        ),
        dedupe_key=dedupe_key(NAME, ctx.team, item.key),
        evidence={
            "days_without_change": round(quiet_days, 1),
            "stale_after_days": ctx.agreements.stale_after_days,
            "last_change_at": last_change.isoformat(),
            "status": item.status,
            "assignee": item.assignee or "",
        },
        item_keys=(item.key,),
        url=item.url,
        **assigned(item),
    )
