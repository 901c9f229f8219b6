"""Cross-team wait: in-progress work blocked by an item of another configured team not done yet.

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
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo

from insights.agreements import Agreements
from insights.cross_team import (
    DETECTOR,
    CrossTeamWait,
    blocking_finding,
    blocking_others,
    cross_team_waits,
    waiting_finding,
)
from insights.detectors.support.context import DetectionContext
from insights.detectors.support.ranking import Candidate, more_items, report_worst
from insights.findings import Finding

NAME = DETECTOR
Wording = Callable[[CrossTeamWait, Agreements, tzinfo], Finding]
"""One side's finding of a wait: :func:`waiting_finding` or :func:`blocking_finding`."""


def detect(ctx: DetectionContext) -> list[Finding]:
    """The team's items waiting on other teams' items, and the other teams' waiting on its own."""
    teams, now, limit = ctx.teams_by_project, ctx.now, ctx.agreements.blocked_alert_after_hours
    sides: list[tuple[CrossTeamWait, str, Wording]] = [
        (wait, wait.item.key, waiting_finding)
        for wait in cross_team_waits(ctx.snapshot, teams, ctx.others, now)
    ]
    sides += [
        (wait, wait.blocking_item_key, blocking_finding)
        for wait in blocking_others(ctx.snapshot, ctx.others, teams, now)
    ]
    candidates = [
        (Candidate.of(wait.severity(limit), wait.seconds, key), (wait, wording))
        for wait, key, wording in sides
    ]
    return report_worst(
        NAME,
        ctx.team,
        candidates,
        lambda side: side[1](side[0], ctx.agreements, ctx.tz),
        lambda n: more_items(n, "wait on another team's items, or block them"),
        "Agree a date with each other team for the oldest waits, in one conversation per team.",
    )
