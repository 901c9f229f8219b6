"""Cross-team wait: in-progress work waiting on another configured team's item or review.

Both sides of :mod:`insights.cross_team`, each in the team's own findings. The waiting side: one
finding per waiting item and blocking item, "PAY-12 waits on CORE-7 (team core) since Tue 01
Dec", with ``blocking_key``, ``blocking_team`` and ``waiting_days`` in its evidence and the
waiting item's assignee as who can act. The blocking side: "CORE-7 blocks PAY-12 (team payments)
since Tue 01 Dec", subject the team's blocking item, naming its assignee. Info until
``agreements.blocked_alert_after_hours``, warn past it, critical past three times it; the worst
waits get a finding each and the rest one roll-up (:mod:`insights.detectors.support.ranking`).
A blocked-by link to the team's own item, or to a key of no configured team's project, is
``blocked_item``'s alone. The project map and the other teams' snapshots come from the context
(``teams_by_project``, ``others``); without them it finds nothing.

A pull request of another team's repository that waits for review, linked to an item in progress,
is a wait too, worded here: "PAY-12 waits on review of core/api#7 (team core) for 2 days" (the
item's assignee's) and, in the repository's team, "core/api#7 (for PAY-12, team payments) waits
for review for 2 days" (its requested reviewers'), by ``agreements.review_within_hours``.
"""

from __future__ import annotations

from datetime import tzinfo

from insights.agreements import Agreements
from insights.cross_team import (
    DETECTOR,
    REVIEW,
    CrossTeamWait,
    blocking_finding,
    blocking_others,
    cross_team_waits,
    waiting_finding,
)
from insights.detectors.support.context import DetectionContext
from insights.detectors.support.ranking import Candidate, more_items, report_worst
from insights.detectors.support.review_facts import ReviewFacts
from insights.detectors.support.wording import DAY_SECONDS, assigned, dedupe_key, duration
from insights.findings import REVIEWER, Finding

NAME = DETECTOR


def detect(ctx: DetectionContext) -> list[Finding]:
    """The team's items waiting on other teams' items, and the other teams' waiting on its own."""
    teams, now = ctx.teams_by_project, ctx.now
    sides = [(wait, True) for wait in cross_team_waits(ctx.snapshot, teams, ctx.others, now)]
    sides += [(wait, False) for wait in blocking_others(ctx.snapshot, ctx.others, teams, now)]
    candidates = []
    for wait, waiting in sides:
        severity, subject = wait.severity(ctx.agreements), _subject(wait, waiting)
        candidates.append((Candidate.of(severity, wait.seconds, subject), (wait, waiting)))
    return report_worst(
        NAME,
        ctx.team,
        candidates,
        lambda side: _finding(*side, ctx.agreements, ctx.tz),
        lambda n: more_items(n, "wait on another team's items or reviews, or block them"),
        "Agree a date with each other team for the oldest waits, in one conversation per team.",
    )


def _subject(wait: CrossTeamWait, waiting: bool) -> str:
    """The item the side's finding is about: the waiting item, or the blocking one."""
    return wait.item.key if waiting else wait.blocking_item_key


def _finding(wait: CrossTeamWait, waiting: bool, agreements: Agreements, tz: tzinfo) -> Finding:
    """The waiting (``waiting``) or blocking side's finding of ``wait``."""
    if wait.review is None:
        return (waiting_finding if waiting else blocking_finding)(wait, agreements, tz)
    return (_review_waiting if waiting else _review_blocking)(wait, wait.review, agreements)


def _review_waiting(wait: CrossTeamWait, facts: ReviewFacts, agreements: Agreements) -> Finding:
    """``PAY-12 waits on review of core/api#7 (team core) for 2 days``, the item's assignee's."""
    item, pr, team = wait.item, facts.pr, wait.blocking_team
    asked = ", ".join(facts.requested_reviewers)
    return Finding(
        detector=DETECTOR,
        severity=wait.severity(agreements),
        subject=item.key,
        title=f"{item.key} waits on review of {pr.key} (team {team}) for {duration(wait.seconds)}",
        action=(
            f"Ask team {team} to review {pr.key} "
            + (f"({asked} asked)" if asked else "(no one there has been asked yet)")
            + f", or take {item.key} out of progress until it can move."
        ),
        dedupe_key=dedupe_key(DETECTOR, wait.team, item.key, REVIEW, pr.key),
        evidence={**_review_evidence(wait, facts, agreements), "status": item.status},
        item_keys=(item.key, pr.key),
        url=item.url,
        **assigned(item),
    )


def _review_blocking(wait: CrossTeamWait, facts: ReviewFacts, agreements: Agreements) -> Finding:
    """``core/api#7 (for PAY-12, team payments) waits for review for 2 days``, its reviewers'."""
    item, pr = wait.item, facts.pr
    asked = facts.requested_reviewers
    lead = "Review it today" if asked else "Ask someone of the team by name to review it today"
    return Finding(
        detector=DETECTOR,
        severity=wait.severity(agreements),
        subject=pr.key,
        title=(
            f"{pr.key} (for {item.key}, team {wait.team}) waits for review for "
            f"{duration(wait.seconds)}"
        ),
        action=f"{lead}: team {wait.team}'s {item.key} cannot move until then.",
        dedupe_key=dedupe_key(DETECTOR, wait.blocking_team, REVIEW, pr.key, item.key),
        evidence={
            **_review_evidence(wait, facts, agreements),
            "waiting_key": item.key,
            "waiting_team": wait.team,
            "waiting_status": item.status,
        },
        item_keys=(pr.key, item.key),
        url=pr.url,
        people=asked,
        role=REVIEWER if asked else "",
    )


def _review_evidence(
    wait: CrossTeamWait, facts: ReviewFacts, agreements: Agreements
) -> dict[str, float | int | str]:
    """The numbers both sides of a review wait show (a card shows the first three)."""
    return {
        "waiting_days": round(wait.seconds / DAY_SECONDS, 1),
        "requested_reviewers": ", ".join(facts.requested_reviewers),
        "review_within_hours": agreements.review_within_hours,
        "blocking_key": facts.pr.key,
        "blocking_team": wait.blocking_team,
        "author": facts.pr.author or "",
        "waiting_since": wait.since.isoformat(),
    }
