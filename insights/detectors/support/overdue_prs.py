"""The open pull requests whose clock (waiting, in review, approved) has run past a limit.

Shared by the pull-request detectors that differ only in which instant starts the clock and which
agreement bounds it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from insights.detectors.support.context import DetectionContext
from insights.detectors.support.ranking import Candidate
from insights.detectors.support.review_facts import ReviewFacts
from insights.detectors.support.severity import past_threshold
from insights.detectors.support.wording import HOUR_SECONDS
from insights.findings import Severity

Overdue = tuple[Candidate, tuple[ReviewFacts, float, Severity]]


def overdue_pull_requests(
    ctx: DetectionContext,
    started: Callable[[ReviewFacts], datetime | None],
    limit_hours: float,
) -> list[Overdue]:
    """Open, non-draft PRs whose ``started`` instant lies more than ``limit_hours`` before now.

    Each comes as a ranking candidate with its payload ``(facts, seconds, severity)``; a PR for
    which ``started`` gives None is not on that clock.
    """
    overdue: list[Overdue] = []
    for pr, facts in ctx.open_pull_requests():
        since = None if pr.draft else started(facts)
        if since is None:
            continue
        seconds = max(0.0, (ctx.now - since).total_seconds())
        severity = past_threshold(seconds / HOUR_SECONDS, limit_hours)
        if severity is not None:
            overdue.append((Candidate.of(severity, seconds, pr.key), (facts, seconds, severity)))
    return overdue
