"""Blocked item: in-progress work flagged, in a blocked stage, or waiting on an unresolved blocker.

Reported once blocked longer than ``agreements.blocked_alert_after_hours`` (warn), critical past
three times that (METRICS 3.10: flag, blocked stage and "is blocked by" links are separate
reasons). The block starts when the flag was set or the blocked stage entered; a blocked-by link
carries no date in the model, so for a link the block is timed from when the item entered its
current status (it has been waiting on the blocker at least that long, as far as we can tell).
A link (a key or an id) counts while its blocker is not in the snapshot or is not finished; a key
of another configured team's project is looked up in that team's snapshot when the context has
it (:mod:`insights.cross_team`).
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from insights.cross_team import items_named
from insights.detectors.support.context import DetectionContext
from insights.detectors.support.ranking import Candidate, more_items, report_worst
from insights.detectors.support.severity import past_threshold
from insights.detectors.support.wording import HOUR_SECONDS, assigned, dedupe_key, duration
from insights.findings import Finding, Severity
from insights.item_timeline import ItemTimeline
from insights.model import Stage, WorkItem

NAME = "blocked_item"


def detect(ctx: DetectionContext) -> list[Finding]:
    """Findings for in-progress items blocked longer than the team's agreement."""
    limit_hours = ctx.agreements.blocked_alert_after_hours
    outside = _outside(ctx)
    candidates = []
    for timeline in ctx.in_progress:
        item = timeline.item
        reasons: list[tuple[str, datetime]] = []
        flagged_since = timeline.flagged_since if timeline.flags else None
        if flagged_since is not None:
            reasons.append(("flagged as an impediment", flagged_since))
        if item.stage is Stage.BLOCKED:
            reasons.append((f"in {item.status}", timeline.status_since))
        blockers = tuple(
            key
            for key in item.blocked_by
            if (blocker := ctx.items_by_ref.get(key) or outside.get(key.casefold())) is None
            or not blocker.stage.finished
        )
        if blockers:
            reasons.append((f"blocked by {', '.join(blockers)}", timeline.status_since))
        if not reasons:
            continue
        since = min(at for _, at in reasons)
        blocked_seconds = max(0.0, (ctx.now - since).total_seconds())
        severity = past_threshold(blocked_seconds / HOUR_SECONDS, limit_hours)
        if severity is not None:
            block = _Block(timeline, severity, since, blocked_seconds, reasons, blockers)
            candidates.append((Candidate.of(severity, blocked_seconds, item.key), block))
    return report_worst(
        NAME,
        ctx.team,
        candidates,
        lambda block: _finding(ctx, block),
        lambda n: more_items(n, f"have been blocked for over {duration(limit_hours * 3600)}"),
        "Review the blocked items with whoever can unblock them, oldest first.",
    )


def _outside(ctx: DetectionContext) -> dict[str, WorkItem]:
    """Other configured teams' items that in-progress items are blocked by (casefolded keys)."""
    if not ctx.others:
        return {}
    keys = (
        key for t in ctx.in_progress for key in t.item.blocked_by if key not in ctx.items_by_ref
    )
    return items_named(keys, ctx.others, ctx.teams_by_project)


class _Block(NamedTuple):
    timeline: ItemTimeline
    severity: Severity
    since: datetime
    seconds: float
    reasons: list[tuple[str, datetime]]
    blockers: tuple[str, ...]


def _finding(ctx: DetectionContext, block: _Block) -> Finding:
    item = block.timeline.item
    why = " and ".join(reason for reason, _ in block.reasons)
    since = block.since.astimezone(ctx.tz).strftime("%a %d %b")
    return Finding(
        detector=NAME,
        severity=block.severity,
        subject=item.key,
        title=f"{item.key} has been blocked for {duration(block.seconds)} ({why}) since {since}",
        action=(
            f"Ask whoever owns {', '.join(block.blockers)} to unblock {item.key} today, or take "
            "it out of progress until it can move."
            if block.blockers
            else f"Escalate what blocks {item.key} today, or take it out of progress until it "
            "can move."
        ),
        dedupe_key=dedupe_key(NAME, ctx.team, item.key),
        evidence={
            "blocked_hours": round(block.seconds / HOUR_SECONDS, 1),
            "blocked_alert_after_hours": ctx.agreements.blocked_alert_after_hours,
            "blocked_since": block.since.isoformat(),
            "reasons": "; ".join(reason for reason, _ in block.reasons),
            "status": item.status,
        },
        item_keys=(item.key, *block.blockers),
        url=item.url,
        **assigned(item),
    )
