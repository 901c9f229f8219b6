"""Pull request waiting for review: no human has reviewed it since it last asked (METRICS 4).

The wait runs from ``waiting_since`` = max(opened, last ready-for-review, last review request to
a human) until a human other than the author submits a review (approve, request changes or
comment). Drafts and pull requests opened by bots are not waited on. Warn past
``agreements.review_within_hours``, critical past three times it.
"""

from __future__ import annotations

from insights.detectors.context import DetectionContext
from insights.detectors.ranking import Candidate, more_items, report_worst
from insights.detectors.review_facts import ReviewFacts
from insights.detectors.severity import past_threshold
from insights.detectors.wording import HOUR_SECONDS, dedupe_key, duration
from insights.findings import Finding, Severity

NAME = "pr_waiting_review"


def detect(ctx: DetectionContext) -> list[Finding]:
    """Findings for open pull requests waiting for a review longer than the agreement."""
    limit_hours = ctx.agreements.review_within_hours
    candidates = []
    for pr, facts in ctx.open_pull_requests():
        if pr.draft or facts.by_bot or facts.reviewed_since_waiting:
            continue
        waited = max(0.0, (ctx.now - facts.waiting_since).total_seconds())
        severity = past_threshold(waited / HOUR_SECONDS, limit_hours)
        if severity is not None:
            candidates.append((Candidate.of(severity, waited, pr.key), (facts, waited, severity)))
    return report_worst(
        NAME,
        ctx.team,
        candidates,
        lambda payload: _finding(ctx, *payload),
        lambda n: more_items(n, f"have waited over {duration(limit_hours * 3600)} for review"),
        "Agree a review slot in the team's day and clear the queue, oldest first.",
    )


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
            f"Ask {asked} to review it today, or pick it up yourself."
            if asked
            else "Pick it up now, or ask a teammate by name to review it."
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
    )
