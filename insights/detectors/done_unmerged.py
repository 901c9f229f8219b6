"""Done but unmerged: an item finished in the last week whose linked pull requests never merged.

A traceability gap (off unless ``agreements.traceability`` lists ``done_unmerged``): the board
says the work is done, the code says it never landed. An item counts when it finished (done, not
cancelled) in the last week, has linked pull requests (those whose ``linked_keys`` name it), and
none of them had merged by now: each is still open or was closed unmerged. Items without linked
pull requests are not judged (much work needs no code).
"""

from __future__ import annotations

from collections.abc import Sequence

from insights.detectors.support.context import PR_LOOKBACK_DAYS, DetectionContext
from insights.detectors.support.ranking import Candidate, more_items, report_worst
from insights.detectors.support.wording import assigned, dedupe_key
from insights.findings import Finding, Severity
from insights.item_timeline import ItemTimeline
from insights.model import ItemKind, Stage, WorkItem

NAME = "done_unmerged"


def detect(ctx: DetectionContext) -> list[Finding]:
    """Findings for items done in the last week whose linked pull requests never merged."""
    if NAME not in ctx.agreements.traceability:
        return []
    done = {
        timeline.item.key: timeline
        for timeline in ctx.timelines.finished_between(ctx.days_ago(PR_LOOKBACK_DAYS), ctx.now)
        if timeline.item.stage is Stage.DONE
    }
    linked = _linked_pull_requests(ctx, done)
    candidates = []
    for key, prs in linked.items():
        if any(pr.merged_at is not None and pr.merged_at <= ctx.now for pr in prs):
            continue
        timeline = done[key]
        recency = timeline.finished_at.timestamp() if timeline.finished_at else 0.0
        candidates.append((Candidate.of(Severity.WARN, recency, key), (timeline, prs)))
    return report_worst(
        NAME,
        ctx.team,
        candidates,
        lambda payload: _finding(ctx, *payload),
        lambda n: more_items(
            n, f"were done in the last {PR_LOOKBACK_DAYS} days with no linked pull request merged"
        ),
        "Go through them with the team: reopen each, or merge or close its pull requests.",
    )


def _linked_pull_requests(
    ctx: DetectionContext, keys: dict[str, ItemTimeline]
) -> dict[str, list[WorkItem]]:
    """The pull requests opened by now that link each of ``keys``, for those linked at all."""
    linked: dict[str, list[WorkItem]] = {}
    for _, pr in ctx.other_items:
        if pr.kind is not ItemKind.PULL_REQUEST or pr.created_at > ctx.now:
            continue
        for key in dict.fromkeys(pr.linked_keys):
            if key in keys:
                linked.setdefault(key, []).append(pr)
    return linked


def _finding(ctx: DetectionContext, timeline: ItemTimeline, prs: Sequence[WorkItem]) -> Finding:
    item = timeline.item
    closed = [pr for pr in prs if pr.stage.finished and pr.merged_at is None]
    return Finding(
        detector=NAME,
        severity=Severity.WARN,
        subject=item.key,
        title=(
            f"{item.key} is done, but its pull request {prs[0].key} never merged"
            if len(prs) == 1
            else f"{item.key} is done, but none of its {len(prs)} pull requests merged "
            f"({', '.join(pr.key for pr in prs)})"
        ),
        action=(
            "Reopen it, or link the pull request that did merge its change."
            if len(closed) == len(prs)
            else "Reopen it, or merge or close the PR."
        ),
        dedupe_key=dedupe_key(NAME, ctx.team, item.key),
        evidence={
            "done_at": timeline.finished_at.isoformat() if timeline.finished_at else "",
            "linked_pull_requests": len(prs),
            "open_pull_requests": len(prs) - len(closed),
            "closed_unmerged_pull_requests": len(closed),
            "window_days": PR_LOOKBACK_DAYS,
        },
        item_keys=(item.key, *(pr.key for pr in prs)),
        url=item.url,
        **assigned(item),
    )
