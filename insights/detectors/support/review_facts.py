"""What the pull-request detectors need to know about a pull request's reviews (METRICS.md 4).

Bots never count: a pull request authored by a bot is not waited on, a review or a review request
from a bot is ignored (METRICS 0.9). A review by the author does not count either; when the author
is unknown, any reviewer counts (METRICS 5.9).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from insights.model import ReviewEvent, ReviewState, WorkItem

BOT_LOGINS = frozenset({"dependabot", "renovate", "github-actions", "copilot", "codecov"})
"""Logins treated as bots besides those ending in ``[bot]`` (no agreement field names them yet)."""
SUBMITTED = frozenset({ReviewState.APPROVED, ReviewState.CHANGES_REQUESTED, ReviewState.COMMENTED})
DECISIONS = frozenset({ReviewState.APPROVED, ReviewState.CHANGES_REQUESTED})


def is_bot(login: str | None) -> bool:
    """True for a bot account: a login ending in ``[bot]`` or one of :data:`BOT_LOGINS`."""
    if login is None:
        return False
    lowered = login.lower()
    return lowered.endswith("[bot]") or lowered in BOT_LOGINS


@dataclass(frozen=True, slots=True)
class ReviewFacts:
    """A pull request and the review facts the detectors share."""

    pr: WorkItem
    waiting_since: datetime
    """max(created, last ready-for-review, last review request to a human) (METRICS 4)."""
    reviewed_since_waiting: bool
    """A human submitted a review at or after ``waiting_since``."""
    first_review_at: datetime | None
    """The first review a human submitted."""
    approved_at: datetime | None
    """When the standing approval was given: every human's latest decision is an approval."""
    reviewed_before_merge: bool
    """A human submitted a review before the merge (False while unmerged and unreviewed)."""
    reviewers: tuple[str, ...]
    """The humans who submitted reviews, in order of their first review."""
    requested_reviewers: tuple[str, ...]
    """The humans asked for a review who have not submitted one since they were asked."""

    @property
    def by_bot(self) -> bool:
        """True when a bot opened the pull request."""
        return is_bot(self.pr.author)


def is_human_reviewer(pr: WorkItem, reviewer: str | None) -> bool:
    """True when a review by ``reviewer`` counts: a human who is not the author (METRICS 5.9)."""
    if is_bot(reviewer):
        return False
    return pr.author is None or reviewer is None or reviewer != pr.author


def review_facts(pr: WorkItem, events: Sequence[ReviewEvent], now: datetime) -> ReviewFacts:
    """Summarise the review events of ``pr`` up to ``now`` (events after now are ignored)."""
    waiting_since = pr.created_at
    submitted: list[ReviewEvent] = []
    asked: dict[str, datetime] = {}
    for event in sorted(events, key=lambda e: e.at):
        if event.at > now:
            break
        if event.state is ReviewState.READY_FOR_REVIEW:
            waiting_since = max(waiting_since, event.at)
        elif event.state is ReviewState.REQUESTED:
            if not is_bot(event.reviewer):
                waiting_since = max(waiting_since, event.at)
                if event.reviewer is not None:
                    asked[event.reviewer] = event.at
        elif is_human_reviewer(pr, event.reviewer):
            submitted.append(event)
    latest_decision: dict[str | None, ReviewEvent] = {}
    for event in submitted:
        if event.state in DECISIONS:
            latest_decision[event.reviewer] = event
    decisions = list(latest_decision.values())
    approved = bool(decisions) and all(e.state is ReviewState.APPROVED for e in decisions)
    merged_at = pr.merged_at
    last_review = {e.reviewer: e.at for e in submitted}
    requested = tuple(r for r, at in asked.items() if r not in last_review or last_review[r] < at)
    return ReviewFacts(
        pr=pr,
        waiting_since=waiting_since,
        reviewed_since_waiting=any(e.at >= waiting_since for e in submitted),
        first_review_at=submitted[0].at if submitted else None,
        approved_at=max(e.at for e in decisions) if approved else None,
        reviewed_before_merge=merged_at is not None and any(e.at <= merged_at for e in submitted),
        reviewers=tuple(dict.fromkeys(e.reviewer for e in submitted if e.reviewer is not None)),
        requested_reviewers=requested,
    )
