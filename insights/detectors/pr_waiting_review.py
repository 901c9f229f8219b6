"""Pull request waiting for review: no human has reviewed it since it last asked (METRICS 4).

The wait runs from ``waiting_since`` = max(opened, last ready-for-review, last review request to
a human) until a human other than the author submits a review (approve, request changes or
comment). Drafts and pull requests opened by bots are not waited on. Warn past
``agreements.review_within_hours``, critical past three times it.
"""

from __future__ import annotations

from datetime import datetime

from insights.detectors.support.context import DetectionContext
from insights.detectors.support.overdue_prs import overdue_pull_requests
from insights.detectors.support.ranking import more_items, report_worst
from insights.detectors.support.review_facts import ReviewFacts
from insights.detectors.support.wording import HOUR_SECONDS, authored, dedupe_key, duration
from insights.findings import REVIEWER, Finding, Severity

NAME = "pr_waiting_review"


def detect(ctx: DetectionContext) -> list[Finding]:
    """Findings for open pull requests waiting for a review longer than the agreement."""
    limit_hours = ctx.agreements.review_within_hours
    candidates = overdue_pull_requests(ctx, _waiting_since, limit_hours)
    return report_worst(
        NAME,
        ctx.team,
        candidates,
        lambda payload: _finding(ctx, *payload),
        lambda n: more_items(n, f"have waited over {duration(limit_hours * 3600)} for review"),
        "Agree a review slot in the team's day and clear the queue, oldest first.",
    )


def _waiting_since(facts: ReviewFacts) -> datetime | None:
    """When the wait for a review began; None for bot authors or PRs reviewed since."""
    if facts.by_bot or facts.reviewed_since_waiting:
        return None
    return facts.waiting_since


def _finding(
    ctx: DetectionContext, facts: ReviewFacts, waited: float, severity: Severity
) -> Finding:
    pr = facts.pr
    asked = ", ".join(facts.requested_reviewers)
    first = "a first review" if facts.first_review_at is None else "a review"
    return Finding(
        detector=NAME,
        severity=severity,
        subject=pr.key,
        title=f"{pr.key} has waited {duration(waited)} for {first}",
        action=(
            "Review it today, or say in the pull request who should instead."
            if asked
            else "Ask a teammate by name to review it today (no one has been asked yet)."
        ),
        dedupe_key=dedupe_key(NAME, ctx.team, pr.key),
        evidence={
            "waiting_hours": round(waited / HOUR_SECONDS, 1),
            "review_within_hours": ctx.agreements.review_within_hours,
            "waiting_since": facts.waiting_since.isoformat(),
            "author": pr.author or "",
            "requested_reviewers": asked,
        },
        item_keys=(pr.key, *pr.linked_keys),
        url=pr.url,
        **(
            {"people": tuple(facts.requested_reviewers), "role": REVIEWER}
            if facts.requested_reviewers
            else authored(pr)
        ),
    )
