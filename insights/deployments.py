"""Which deployments count, which incidents they caused and what they shipped (METRICS.md 2.6).

The successful production deployments (once each, by finish time), DevLake's attribution of
incidents to the last deployment before them (METRICS.md 2.3), and DevLake's pull-request cycle
time of each merged pull request a production deployment shipped: the lead time for changes of
:mod:`insights.dora` (METRICS.md 2.3, 2.6), in minutes rounded up.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from insights.model import Deployment, Incident, ItemKind, ReviewEvent, ReviewState, Snapshot

_SUBMITTED = frozenset({ReviewState.COMMENTED, ReviewState.APPROVED, ReviewState.CHANGES_REQUESTED})
_MINUTE = timedelta(minutes=1)


def is_bot(login: str | None, known_bots: Collection[str] = ()) -> bool:
    """True for a bot account: a login ending ``[bot]`` or one of ``known_bots`` (any case)."""
    if not login:
        return False
    lowered = login.lower()
    return lowered.endswith("[bot]") or lowered in {b.lower() for b in known_bots}


def ceil_minutes(start: datetime, end: datetime) -> int | None:
    """Whole minutes from ``start`` to ``end`` rounded up (DevLake); None when negative."""
    if end < start:
        return None
    return -((start - end) // _MINUTE)


def production_deployments(deployments: Iterable[Deployment]) -> list[Deployment]:
    """The successful production deployments, once each, by finish time."""
    unique = {d.id: d for d in deployments if d.is_production_success}
    return sorted(unique.values(), key=lambda d: (d.finished_at, d.id))


def attribute_incidents(
    deployments: Iterable[Deployment], incidents: Iterable[Incident]
) -> list[Incident]:
    """Give each incident without a deployment the last production deployment before it.

    DevLake's rule: the successful production deployment that finished strictly before the
    incident was created, however long before. Incidents already attributed are kept as they
    are; an incident before any deployment stays unattributed.
    """
    ordered = production_deployments(deployments)
    finishes = [d.finished_at for d in ordered]
    out = []
    for incident in incidents:
        if incident.deployment_id is None:
            position = bisect_left(finishes, incident.created_at) - 1
            if position >= 0:
                incident = replace(incident, deployment_id=ordered[position].id)
        out.append(incident)
    return out


@dataclass(frozen=True)
class PrLeadTime:
    """DevLake's pull-request cycle time of one shipped pull request, in minutes rounded up."""

    pr_key: str
    deployment_id: str
    deployed_at: datetime
    coding_minutes: int | None
    """First commit -> opened."""
    pickup_minutes: int | None
    """Opened -> first review by someone else (not a bot)."""
    review_minutes: int | None
    """First review -> merged."""
    deploy_minutes: int | None
    """Merged -> deployment finished (None when the deployment finished before the merge)."""
    cycle_minutes: int
    """Coding (if known) + opened -> merged + deploy (if known)."""


def first_review_at(
    reviews: Sequence[ReviewEvent], author: str | None, bots: Collection[str] = ()
) -> datetime | None:
    """When someone other than the author (and no bot) first submitted a review.

    Requests do not count. A pull request without an author takes anyone's review (DevLake).
    """
    for review in sorted(reviews, key=lambda r: r.at):
        if review.state not in _SUBMITTED or is_bot(review.reviewer, bots):
            continue
        if author is None or review.reviewer != author:
            return review.at
    return None


def pr_lead_times(snapshot: Snapshot, bots: Collection[str] = ()) -> list[PrLeadTime]:
    """The lead time of every merged pull request a production deployment shipped."""
    deployments = production_deployments(snapshot.deployments)
    baselines = set()
    seen_repos = set()
    for d in deployments:
        if d.repo not in seen_repos:
            seen_repos.add(d.repo)
            baselines.add(d.id)
    shipper: dict[str, Deployment] = {}
    for d in sorted(deployments, key=lambda d: (d.started_at or d.finished_at, d.id)):
        for item_id in d.shipped_item_ids:
            shipper.setdefault(item_id, d)
    if not shipper:
        return []  # nothing shipped: no need to index the pull requests
    pulls = {i.id: i for i in snapshot.items if i.kind is ItemKind.PULL_REQUEST}
    out = []
    for item_id, d in shipper.items():
        pr = pulls.get(item_id)
        if d.id in baselines or pr is None or pr.merged_at is None:
            continue
        open_to_merge = ceil_minutes(pr.created_at, pr.merged_at)
        if open_to_merge is None:
            continue
        coding = ceil_minutes(pr.first_commit_at, pr.created_at) if pr.first_commit_at else None
        reviewed = first_review_at(snapshot.reviews.get(pr.id, ()), pr.author, bots)
        deploy = ceil_minutes(pr.merged_at, d.finished_at)
        out.append(
            PrLeadTime(
                pr_key=pr.key,
                deployment_id=d.id,
                deployed_at=d.finished_at,
                coding_minutes=coding,
                pickup_minutes=ceil_minutes(pr.created_at, reviewed) if reviewed else None,
                review_minutes=ceil_minutes(reviewed, pr.merged_at) if reviewed else None,
                deploy_minutes=deploy,
                cycle_minutes=(coding or 0) + open_to_merge + (deploy or 0),
            )
        )
    out.sort(key=lambda p: (p.deployed_at, p.pr_key))
    return out
