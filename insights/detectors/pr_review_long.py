"""Pull request review running long: first review long ago, still not merged.

The review runs from the first review a human (not the author, not a bot) submitted until the
merge. An open, non-draft pull request whose review has run longer than
``agreements.review_running_hours`` warns, past three times that it is critical.
"""

from __future__ import annotations

from insights.detectors.support.context import DetectionContext
from insights.detectors.support.overdue_prs import overdue_pull_requests
from insights.detectors.support.ranking import more_items, report_worst
from insights.detectors.support.review_facts import ReviewFacts
from insights.detectors.support.wording import HOUR_SECONDS, authored, dedupe_key, duration
from insights.findings import Finding, Severity

NAME = "pr_review_long"


def detect(ctx: DetectionContext) -> list[Finding]:
    """Findings for open pull requests whose review has run longer than the agreement."""
    limit_hours = ctx.agreements.review_running_hours
    candidates = overdue_pull_requests(ctx, lambda facts: facts.first_review_at, limit_hours)
    return report_worst(
        NAME,
        ctx.team,
        candidates,
        lambda payload: _finding(ctx, *payload),
        lambda n: more_items(n, f"have been in review for over {duration(limit_hours * 3600)}"),
        "Go through the long reviews together: merge, split or close each one.",
    )


def _finding(
    ctx: DetectionContext, facts: ReviewFacts, running: float, severity: Severity
) -> Finding:
    pr, first_review_at = facts.pr, facts.first_review_at
    return Finding(
        detector=NAME,
        severity=severity,
        subject=pr.key,
        title=(
            f"{pr.key} has been in review for {duration(running)} since its first review and is "
            "still not merged"
        ),
        action=(
            "Get the author and reviewers together for 15 minutes to agree what it needs to "
            "merge, or split it."
        ),
        dedupe_key=dedupe_key(NAME, ctx.team, pr.key),
        evidence={
            "review_running_hours": round(running / HOUR_SECONDS, 1),
            "review_running_limit_hours": ctx.agreements.review_running_hours,
            "first_review_at": first_review_at.isoformat() if first_review_at else "",
            "reviewers": ", ".join(facts.reviewers),
        },
        item_keys=(pr.key, *pr.linked_keys),
        url=pr.url,
        **authored(pr),
    )
