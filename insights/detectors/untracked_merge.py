"""Untracked merge: a pull request merged in the last week that names no work item of the team.

A traceability gap (off unless ``agreements.traceability`` lists ``untracked_merge``): the
change reached the main line, but no item says why. Its ``linked_keys`` (the work-item keys found
in its branch, title and body) name none at all, or only keys the team has no issue for.
Pull requests opened by bots (dependency updates) are left out.
"""

from __future__ import annotations

from insights.detectors.support.context import PR_LOOKBACK_DAYS, DetectionContext
from insights.detectors.support.ranking import Candidate, more_items, report_worst
from insights.detectors.support.wording import authored, dedupe_key
from insights.findings import Finding, Severity
from insights.model import ItemKind, WorkItem

NAME = "untracked_merge"


def detect(ctx: DetectionContext) -> list[Finding]:
    """Findings for pull requests merged in the last week without a known linked item."""
    if NAME not in ctx.agreements.traceability:
        return []
    candidates = []
    for facts in ctx.review_facts.values():
        pr = facts.pr
        if pr.merged_at is None or pr.merged_at > ctx.now or facts.by_bot:
            continue
        if not any(_is_team_issue(ctx, key) for key in pr.linked_keys):
            recency = pr.merged_at.timestamp()
            candidates.append((Candidate.of(Severity.WARN, recency, pr.key), pr))
    return report_worst(
        NAME,
        ctx.team,
        candidates,
        lambda pr: _finding(ctx, pr),
        lambda n: more_items(
            n, f"were merged without a linked work item in the last {PR_LOOKBACK_DAYS} days"
        ),
        "Agree as a team that every change names its work item (the key in the title or branch).",
    )


def _is_team_issue(ctx: DetectionContext, key: str) -> bool:
    item = ctx.items_by_ref.get(key)
    return item is not None and item.kind is ItemKind.ISSUE and item.removed_at is None


def _finding(ctx: DetectionContext, pr: WorkItem) -> Finding:
    unknown = ", ".join(pr.linked_keys)
    return Finding(
        detector=NAME,
        severity=Severity.WARN,
        subject=pr.key,
        title=(
            f"{pr.key} was merged linked only to {unknown}, which the team has no item for"
            if unknown
            else f"{pr.key} was merged without a linked work item"
        ),
        action=(
            "Link it to the work item it belongs to (put the key in the title or branch), or "
            "record why it needed none."
        ),
        dedupe_key=dedupe_key(NAME, ctx.team, pr.key),
        evidence={
            "merged_at": pr.merged_at.isoformat() if pr.merged_at else "",
            "author": pr.author or "",
            "unknown_linked_keys": unknown,
            "window_days": PR_LOOKBACK_DAYS,
        },
        item_keys=(pr.key,),
        url=pr.url,
        **authored(pr),
    )
