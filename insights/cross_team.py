"""Waits between teams (issue 16): an item of one team blocked by another team's item or review.

A team's projects (app.yaml ``teams[].projects``, issue key prefixes) say whose an item is
(:func:`insights.trace.project_teams`). A *cross-team wait* is an item of the waiting team, in
progress at ``now``, with a blocked-by link to a key of another configured team's project whose
item is not done by ``now``. Both teams hear of it, each in its own channel and under its own
quiet hours, caps and mutes, from the ``cross_team_wait`` detector run on each team's data with
the other teams' snapshots beside it: the waiting team's run finds the wait
(:func:`waiting_finding`, subject the waiting item); the blocking team's run finds the same wait
from the other side (:func:`blocking_others`, subject the blocking item: one card per blocking
item, whatever number of items wait on it). Neither team's alert sweep posts in the other team's
channel; the one-card-per-subject machinery (updated in place, resolved when the wait ends) does
the rest on each side.

A *review wait* is the same from a pull request: an item of the waiting team, in progress at
``now``, linked (``linked_keys``, by a key of the team's projects) from an open pull request that
waits for review (:func:`insights.detectors.support.review_facts.review_facts`: no human review
since it last asked; drafts and bots' pull requests are not waited on) in a repository of another
team: the pull request is in that team's snapshot, not in the waiting team's. The waiting side
reads "PAY-12 waits on review of core/api#7 (team core) for 2 days", the repository's team
"core/api#7 (for PAY-12, team payments) waits for review for 2 days", naming whom the pull
request asks. It is timed from the pull request's ``waiting_since``; its severity follows each
team's ``review_within_hours`` as the blocked-by one follows ``blocked_alert_after_hours``.

- **In progress at now.** The status the item's last change by ``now`` entered (before any, the
  one it was created in) is an in-progress stage. The wait is timed from that change: a link
  carries no date, so, as ``blocked_item`` reads it, the item has waited at least that long.
- **Not done.** The blocker is looked up by key (any case) in the blocking team's snapshot; it is
  done when it is finished (done or cancelled) and its resolution (else its last update) is not
  after ``now``. A blocker the blocking team's data does not hold (not synced yet, or no snapshot
  of that team given) counts as not done, as ``blocked_item`` counts a blocker it cannot see.
- **Severity.** Info until the team's own ``blocked_alert_after_hours``, warn past it, critical
  past three times it: each side by its own agreement, as each team decided how long a block may
  last before it hears of it. With the same agreement on both sides (the default 48 hours) both
  channels get their card in the same sweep; info waits for the digest on both sides.

Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo

from insights.agreements import Agreements
from insights.detectors.support.review_facts import ReviewFacts, review_facts
from insights.detectors.support.severity import past_threshold
from insights.detectors.support.wording import (
    DAY_SECONDS,
    HOUR_SECONDS,
    assigned,
    dedupe_key,
)
from insights.findings import Finding, Severity
from insights.model import ItemKind, Snapshot, Transition, WorkItem

DETECTOR = "cross_team_wait"
"""The detector both sides' findings carry (muting it mutes both, each team for itself)."""
BLOCKS = "blocks"
"""The middle part of a blocking-side finding's dedupe key."""
REVIEW = "review"
"""The part of a review wait's dedupe keys that sets them apart from the blocked-by ones."""


@dataclass(frozen=True, slots=True)
class CrossTeamWait:
    """An item of ``team`` in progress and waiting on ``blocking_key`` of ``blocking_team``.

    For a review wait ``blocking_key`` is the pull request's, ``blocker`` the pull request.
    """

    item: WorkItem
    team: str
    blocking_key: str
    blocking_team: str
    blocker: WorkItem | None
    """The blocking item as its team's snapshot has it (None: that data does not hold it)."""
    since: datetime
    """When the waiting item entered its current status (the pull request began waiting)."""
    now: datetime
    review: ReviewFacts | None = None
    """The pull request's review facts, for a review wait."""

    @property
    def blocking_item_key(self) -> str:
        """The blocking item's key as its team spells it (as the link does, when unknown)."""
        return self.blocker.key if self.blocker is not None else self.blocking_key

    @property
    def seconds(self) -> float:
        """How long it has waited so far."""
        return max(0.0, (self.now - self.since).total_seconds())

    def severity(self, agreements: Agreements) -> Severity:
        """Info up to the agreed hours (of the side asking), warn past them, critical past 3x."""
        limit = (
            agreements.review_within_hours
            if self.review is not None
            else agreements.blocked_alert_after_hours
        )
        return past_threshold(self.seconds / HOUR_SECONDS, limit) or Severity.INFO


def team_of(key: str, teams_by_project: Mapping[str, str]) -> str | None:
    """The configured team whose project prefixes ``key`` (``CORE-7`` -> core), any case."""
    project = key.rpartition("-")[0].casefold()
    return next((t for p, t in teams_by_project.items() if p.casefold() == project), None)


def cross_team_waits(
    snapshot: Snapshot,
    teams_by_project: Mapping[str, str],
    others: Mapping[str, Snapshot],
    now: datetime,
) -> list[CrossTeamWait]:
    """The waits of ``snapshot``'s items on other teams' items and reviews, as of ``now``.

    ``others`` are the other configured teams' snapshots by team name (for the blockers' state,
    and the pull requests of their repositories).
    """
    candidates: list[tuple[WorkItem, datetime, str, str]] = []
    for item in snapshot.items if teams_by_project else ():
        if not item.blocked_by or item.kind is not ItemKind.ISSUE or not _live(item, now):
            continue
        since = _in_progress_since(item, snapshot.transitions.get(item.id, ()), now)
        if since is None:
            continue
        for key in dict.fromkeys(item.blocked_by):
            team = team_of(key, teams_by_project)
            if team is not None and team != snapshot.team:
                candidates.append((item, since, key, team))
    blockers = _find(others, {(team, key.casefold()) for _, _, key, team in candidates})
    waits = []
    for item, since, key, team in candidates:
        blocker = blockers.get((team, key.casefold()))
        if blocker is None or not _done_by(blocker, now):
            waits.append(CrossTeamWait(item, snapshot.team, key, team, blocker, since, now))
    return waits + _review_waits(snapshot, teams_by_project, others, now)


def awaited_reviews(
    snapshot: Snapshot, item: WorkItem, others: Mapping[str, Snapshot], now: datetime
) -> list[tuple[str, str, str, str | None]]:
    """Key, team, ``waiting for review`` and link of each other team's PR ``item`` waits on."""
    wanted = {item.key.casefold()}
    return [
        (facts.pr.key, team, "waiting for review", facts.pr.url)
        for team, _, facts in _waiting_for_review(snapshot, wanted, others, now)
    ]


def _review_waits(
    snapshot: Snapshot,
    teams_by_project: Mapping[str, str],
    others: Mapping[str, Snapshot],
    now: datetime,
) -> list[CrossTeamWait]:
    """The waits of ``snapshot``'s items in progress on other teams' pull requests' reviews."""
    started = {
        item.key.casefold(): item
        for item in (snapshot.items if teams_by_project else ())
        if item.kind is ItemKind.ISSUE
        and _live(item, now)
        and team_of(item.key, teams_by_project) == snapshot.team
        and _in_progress_since(item, snapshot.transitions.get(item.id, ()), now) is not None
    }
    waits = []
    for team, key, facts in _waiting_for_review(snapshot, set(started), others, now):
        pr, since = facts.pr, facts.waiting_since
        waits.append(
            CrossTeamWait(started[key], snapshot.team, pr.key, team, pr, since, now, facts)
        )
    return waits


def _waiting_for_review(
    snapshot: Snapshot, keys: set[str], others: Mapping[str, Snapshot], now: datetime
) -> Iterator[tuple[str, str, ReviewFacts]]:
    """The other teams' open pull requests linking ``keys`` (casefolded), waiting for review.

    As (team, linked key, review facts) at ``now``; one ``snapshot`` holds too is not another's.
    """
    own = {pr.id for pr in snapshot.pull_requests()} if keys else set()
    for team, other in others.items() if keys else ():
        if team == snapshot.team:
            continue
        for pr in other.pull_requests():
            linked = [k for k in dict.fromkeys(k.casefold() for k in pr.linked_keys) if k in keys]
            if not linked or pr.id in own or pr.draft or not _live(pr, now) or _done_by(pr, now):
                continue
            facts = review_facts(pr, other.reviews.get(pr.id, ()), now)
            if not facts.by_bot and not facts.reviewed_since_waiting:
                yield from ((team, key, facts) for key in linked)


def waiting_finding(wait: CrossTeamWait, agreements: Agreements, tz: tzinfo) -> Finding:
    """The waiting team's finding: ``PAY-12 waits on CORE-7 (team core) since Tue 01 Dec``."""
    item, key, team = wait.item, wait.blocking_item_key, wait.blocking_team
    return Finding(
        detector=DETECTOR,
        severity=wait.severity(agreements),
        subject=item.key,
        title=f"{item.key} waits on {key} (team {team}) since {_day(wait.since, tz)}",
        action=(
            f"Ask team {team} when {key} will be done and agree a date, or take {item.key} out "
            "of progress until it can move."
        ),
        dedupe_key=dedupe_key(DETECTOR, wait.team, item.key, wait.blocking_key),
        evidence={**_evidence(wait, agreements), "status": item.status},
        item_keys=(item.key, key),
        url=item.url,
        **assigned(item),
    )


def blocking_finding(wait: CrossTeamWait, agreements: Agreements, tz: tzinfo) -> Finding:
    """The blocking team's finding: ``CORE-7 blocks PAY-12 (team payments) since Tue 01 Dec``.

    ``agreements`` and ``tz`` are the blocking team's. Its people are the blocking item's
    assignee when the blocking team's data has one.
    """
    item, blocker, subject = wait.item, wait.blocker, wait.blocking_item_key
    return Finding(
        detector=DETECTOR,
        severity=wait.severity(agreements),
        subject=subject,
        title=f"{subject} blocks {item.key} (team {wait.team}) since {_day(wait.since, tz)}",
        action=(
            f"Finish {subject}, or tell team {wait.team} when it will be done: {item.key} cannot "
            "move until then."
        ),
        dedupe_key=dedupe_key(DETECTOR, wait.blocking_team, BLOCKS, subject, item.key),
        evidence={
            **_evidence(wait, agreements),
            "waiting_key": item.key,
            "waiting_team": wait.team,
            "waiting_status": item.status,
        },
        item_keys=(subject, item.key),
        url=blocker.url if blocker is not None else None,
        **(assigned(blocker) if blocker is not None else {}),
    )


def blocking_others(
    snapshot: Snapshot,
    others: Mapping[str, Snapshot],
    teams_by_project: Mapping[str, str],
    now: datetime,
) -> list[CrossTeamWait]:
    """The other teams' waits on ``snapshot``'s team's items (its side of each wait).

    ``others`` are the other configured teams' snapshots by team name.
    """
    team = snapshot.team
    mine = {team: snapshot}
    return [
        wait
        for name, other in others.items()
        if name != team
        for wait in cross_team_waits(other, teams_by_project, mine, now)
        if wait.blocking_team == team
    ]


def blocked_items(
    key: str, others: Mapping[str, Snapshot], teams_by_project: Mapping[str, str]
) -> list[tuple[str, WorkItem]]:
    """The other teams' live issues with a blocked-by link to ``key`` (any case), with their team.

    Every such item, finished or not: the trace of ``key`` shows each with its status.
    """
    wanted = key.casefold()
    owner = team_of(key, teams_by_project)
    return [
        (name, item)
        for name, other in others.items()
        if name != owner
        for item in other.items
        if item.blocked_by
        and item.kind is ItemKind.ISSUE
        and item.removed_at is None
        and any(k.casefold() == wanted for k in item.blocked_by)
    ]


def items_named(
    keys: Iterable[str], others: Mapping[str, Snapshot], teams_by_project: Mapping[str, str]
) -> dict[str, WorkItem]:
    """The live items ``keys`` name, each looked up in its project's team's snapshot (``others``).

    Keyed by the casefolded key; a key of no configured team, or not in that team's data, is not
    there. One pass over each team's items concerned, however many keys.
    """
    wanted = {(team, key.casefold()) for key in keys if (team := team_of(key, teams_by_project))}
    return {key: item for (_, key), item in _find(others, wanted).items()}


def _find(
    others: Mapping[str, Snapshot], wanted: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], WorkItem]:
    """The live items ``wanted`` ((team, casefolded key) pairs), one pass per team concerned."""
    by_team: dict[str, set[str]] = {}
    for team, key in wanted:
        by_team.setdefault(team, set()).add(key)
    found: dict[tuple[str, str], WorkItem] = {}
    for team, keys in by_team.items():
        other = others.get(team)
        for item in other.items if other is not None else ():
            folded = item.key.casefold()
            if folded in keys and item.removed_at is None:
                found.setdefault((team, folded), item)
    return found


def _live(item: WorkItem, now: datetime) -> bool:
    """Created by ``now`` and not removed at its vendor by then."""
    return item.created_at <= now and (item.removed_at is None or item.removed_at > now)


def _in_progress_since(
    item: WorkItem, transitions: Sequence[Transition], now: datetime
) -> datetime | None:
    """When ``item`` entered the in-progress status it is in at ``now`` (None: not in progress)."""
    last = next((t for t in reversed(transitions) if t.at <= now), None)
    if last is not None:
        return last.at if last.to_stage.in_progress else None
    initial = transitions[0].from_stage if transitions else item.stage
    return item.created_at if initial is not None and initial.in_progress else None


def _done_by(item: WorkItem, now: datetime) -> bool:
    """Finished (done or cancelled), and resolved (else last updated) by ``now``."""
    return item.stage.finished and (item.resolved_at or item.updated_at) <= now


def _day(at: datetime, tz: tzinfo) -> str:
    """``Tue 01 Dec`` in ``tz``."""
    return at.astimezone(tz).strftime("%a %d %b")


def _evidence(wait: CrossTeamWait, agreements: Agreements) -> dict[str, float | int | str]:
    """The numbers both sides show (a card shows the first three)."""
    blocker = wait.blocker
    return {
        "waiting_days": round(wait.seconds / DAY_SECONDS, 1),
        "blocking_status": blocker.status if blocker is not None else "unknown",
        "blocked_alert_after_hours": agreements.blocked_alert_after_hours,
        "blocking_key": wait.blocking_item_key,
        "blocking_team": wait.blocking_team,
        "waiting_since": wait.since.isoformat(),
    }
