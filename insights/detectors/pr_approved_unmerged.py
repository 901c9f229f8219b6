"""Pull request approved but not merged: every human decision is an approval, yet it sits.

Approved means each human reviewer's latest decision (approve or request changes) is an approval.
An open, non-draft pull request approved longer ago than ``agreements.approved_unmerged_hours``
warns, past three times that it is critical.
"""

from __future__ import annotations

from insights.detectors.support.context import DetectionContext
from insights.detectors.support.overdue_prs import overdue_pull_requests
from insights.detectors.support.ranking import more_items, report_worst
from insights.detectors.support.review_facts import ReviewFacts
from insights.detectors.support.wording import HOUR_SECONDS, authored, dedupe_key, duration
from insights.findings import Finding, Severity

NAME = "pr_approved_unmerged"


def detect(ctx: DetectionContext) -> list[Finding]:
    """Findings for approved pull requests left unmerged longer than the agreement."""
    limit_hours = ctx.agreements.approved_unmerged_hours
    candidates = overdue_pull_requests(ctx, lambda facts: facts.approved_at, limit_hours)
    return report_worst(
        NAME,
        ctx.team,
        candidates,
        lambda payload: _finding(ctx, *payload),
        lambda n: more_items(n, f"were approved over {duration(limit_hours * 3600)} ago"),
        "Merge what is ready, and close what is no longer wanted.",
    )


def _finding(
    ctx: DetectionContext, facts: ReviewFacts, since: float, severity: Severity
) -> Finding:
    pr, approved_at = facts.pr, facts.approved_at
    return Finding(
        detector=NAME,
        severity=severity,
        subject=pr.key,
        title=f"{pr.key} was approved {duration(since)} ago and is still not merged",
        action=(
            "Merge it, or write in the pull request what it is waiting for (a release, a "
            "dependency, a failing check)."
        ),
        dedupe_key=dedupe_key(NAME, ctx.team, pr.key),
        evidence={
            "approved_hours_ago": round(since / HOUR_SECONDS, 1),
            "approved_unmerged_hours": ctx.agreements.approved_unmerged_hours,
            "approved_at": approved_at.isoformat() if approved_at else "",
            "author": pr.author or "",
        },
        item_keys=(pr.key, *pr.linked_keys),
        url=pr.url,
        **authored(pr),
    )
