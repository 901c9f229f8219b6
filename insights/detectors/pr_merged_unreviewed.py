"""Pull request merged without review: merged in the last week with no human review before it.

A review counts when a human other than the author (not a bot) submitted it before the merge.
Pull requests opened by bots (dependency updates) are left out.
"""

from __future__ import annotations

from insights.detectors.support.context import PR_LOOKBACK_DAYS, DetectionContext
from insights.detectors.support.ranking import Candidate, more_items, report_worst
from insights.detectors.support.wording import authored, dedupe_key
from insights.findings import Finding, Severity
from insights.model import WorkItem

NAME = "pr_merged_unreviewed"


def detect(ctx: DetectionContext) -> list[Finding]:
    """Findings for pull requests merged in the last week without a human review."""
    candidates = []
    for facts in ctx.review_facts.values():
        pr = facts.pr
        if pr.merged_at is None or pr.merged_at > ctx.now or facts.by_bot:
            continue
        if not facts.reviewed_before_merge:
            recency = pr.merged_at.timestamp()
            candidates.append((Candidate.of(Severity.WARN, recency, pr.key), pr))
    return report_worst(
        NAME,
        ctx.team,
        candidates,
        lambda pr: _finding(ctx, pr),
        lambda n: more_items(
            n, f"were merged without a review in the last {PR_LOOKBACK_DAYS} days"
        ),
        "Agree as a team which changes may skip review, and review the others after the fact.",
    )


def _finding(ctx: DetectionContext, pr: WorkItem) -> Finding:
    return Finding(
        detector=NAME,
        severity=Severity.WARN,
        subject=pr.key,
        title=f"{pr.key} was merged without a review",
        action=(
            "Ask a teammate to review it after the fact, and agree whether this kind of change "
            "may skip review."
        ),
        dedupe_key=dedupe_key(NAME, ctx.team, pr.key),
        evidence={
            "merged_at": pr.merged_at.isoformat() if pr.merged_at else "",
            "author": pr.author or "",
            "window_days": PR_LOOKBACK_DAYS,
        },
        item_keys=(pr.key, *pr.linked_keys),
        url=pr.url,
        **authored(pr),
    )
