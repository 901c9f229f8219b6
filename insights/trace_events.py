"""The events of one item's journey across tools, oldest first: what ``vsm trace`` lists.

:func:`journey` reads every event that happened to a work item in any tool up to ``now``: its
creation, the commitment, each status it entered (re-entries too), the flags, each linked pull
request with its reviews and its merge or closing, the production deployments that shipped them
and the incidents attributed to those, its finish.

The events are named in the vocabulary of :mod:`insights.stream_events` where it has a word for
what happened (``created``, ``committed``, ``status:<name>``, ``pr_opened``, ``approved``,
``merged``, ``deployed``, ``incident``, ``done``), each time it happened: ``pr_opened`` is the
opening of *each* linked pull request and ``approved`` *each* approval (the step boundaries of
:mod:`insights.trace` keep METRICS.md 6's meaning: the first opened, the last approval before the
last merge...). The other events are details: ``review_requested``, ``ready_for_review``,
``commented``, ``changes_requested``, ``pr_closed``, ``flagged`` and ``unflagged``. Reviews by
bots and by the author are left out, as every review metric leaves them out (METRICS.md 0.9,
5.9). Labels are plain words holding vendor text: escape them wherever they are shown. Pure: no
I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from insights.detectors.support.review_facts import is_human_reviewer
from insights.item_timeline import ItemTimeline
from insights.model import Deployment, ReviewState, Snapshot, Stage, WorkItem
from insights.stream_events import (
    APPROVED,
    COMMITTED,
    CREATED,
    DEPLOYED,
    DONE,
    INCIDENT,
    MERGED,
    PR_OPENED,
    ItemEvents,
    StreamLinks,
    status_event,
)

REVIEW_REQUESTED = "review_requested"
READY_FOR_REVIEW = "ready_for_review"
COMMENTED = "commented"
CHANGES_REQUESTED = "changes_requested"
PR_CLOSED = "pr_closed"
FLAGGED = "flagged"
UNFLAGGED = "unflagged"
_REVIEW_KINDS = {
    ReviewState.REQUESTED: REVIEW_REQUESTED,
    ReviewState.READY_FOR_REVIEW: READY_FOR_REVIEW,
    ReviewState.COMMENTED: COMMENTED,
    ReviewState.APPROVED: APPROVED,
    ReviewState.CHANGES_REQUESTED: CHANGES_REQUESTED,
}


@dataclass(frozen=True, slots=True)
class TraceEvent:
    """Something that happened to the item, in one tool, at one instant."""

    at: datetime
    event: str
    """A :mod:`insights.stream_events` name (``merged``, ``status:QA``) or a detail kind."""
    label: str
    """What happened in plain words ("Entered Code Review", "approved by ben"): vendor text,
    to be escaped wherever it is shown."""
    source: str
    """The tool that recorded it (``jira``, ``github``, ``pagerduty``...)."""
    url: str | None = None
    """The vendor's page of the record behind it (unchecked: vendor text)."""
    subject: str | None = None
    """The record a link to ``url`` is named by: a pull request's key, ``deploy 41``, an
    incident's title (None: the item's own events)."""


def journey(
    snapshot: Snapshot, timeline: ItemTimeline, events: ItemEvents, links: StreamLinks
) -> tuple[TraceEvent, ...]:
    """Every event of the item's journey up to ``links.now``, oldest first."""
    item, now = timeline.item, links.now
    out = [TraceEvent(item.created_at, CREATED, "Created", item.source, item.url)]
    committed = events.get(COMMITTED)
    entered: set[str] = set()
    for status, at in events.entries:
        again = status in entered
        entered.add(status)
        label = f"Back in {status}" if again else f"Entered {status}"
        out.append(TraceEvent(at, status_event(status), label, item.source))
        if at == committed and not again:
            out.append(TraceEvent(at, COMMITTED, "Committed: the team took it on", item.source))
            committed = None
    for flag in timeline.flags:
        if flag.at <= now:
            kind = FLAGGED if flag.flagged else UNFLAGGED
            out.append(TraceEvent(flag.at, kind, kind.capitalize(), item.source))
    several = len(events.pull_requests) > 1
    for pr in events.pull_requests:
        out.extend(_pull_request_events(pr, links, several))
    out.extend(_delivery_events(snapshot, events, links, several))
    done = events.get(DONE)
    if done is not None:
        out.append(TraceEvent(done, DONE, "Done", item.source, item.url))
    out.sort(key=lambda event: event.at)  # stable: ties keep the order above
    return tuple(out)


def _pull_request_events(pr: WorkItem, links: StreamLinks, several: bool) -> list[TraceEvent]:
    """A linked pull request's opening, the human reviews on it, and its merge or closing."""
    now, source, url = links.now, pr.source, pr.url
    reviews = [e for e in links.reviews.get(pr.id, ()) if e.at <= now]
    drafted = pr.draft or any(e.state is ReviewState.READY_FOR_REVIEW for e in reviews)
    by = f" by {pr.author}" if pr.author else ""
    opened = f"{pr.key} opened{by}" + (" as a draft" if drafted else "")
    out = [TraceEvent(pr.created_at, PR_OPENED, opened, source, url, pr.key)]
    which = f"{pr.key} " if several else ""
    for review in reviews:
        kind = _REVIEW_KINDS[review.state]
        who = review.reviewer or "someone"
        if kind == READY_FOR_REVIEW:
            label = f"{pr.key} ready for review"
        elif not is_human_reviewer(pr, review.reviewer):
            continue
        elif kind == REVIEW_REQUESTED:
            label = f"{which}review requested from {who}"
        elif kind == COMMENTED:
            label = f"{which}reviewed by {who} (comments)"
        else:
            label = f"{which}{'approved' if kind == APPROVED else 'changes requested'} by {who}"
        out.append(TraceEvent(review.at, kind, label, source, url, pr.key))
    if pr.merged_at is not None and pr.merged_at <= now:
        out.append(TraceEvent(pr.merged_at, MERGED, f"{which}merged", source, url, pr.key))
    elif pr.stage is Stage.CANCELLED and pr.resolved_at is not None and pr.resolved_at <= now:
        closed = f"{pr.key} closed unmerged"
        out.append(TraceEvent(pr.resolved_at, PR_CLOSED, closed, source, url, pr.key))
    return out


def _delivery_events(
    snapshot: Snapshot, events: ItemEvents, links: StreamLinks, several: bool
) -> list[TraceEvent]:
    """The production deployments that shipped the linked pull requests, and their incidents."""
    shipped: dict[str, tuple[Deployment, list[str]]] = {}
    for pr in events.pull_requests:
        deployment = links.first_deployment.get(pr.id)
        if (
            deployment is not None
            and deployment.finished_at <= links.now  # links indexed later serve earlier instants
            and pr.merged_at is not None
            and pr.merged_at <= links.now
        ):
            shipped.setdefault(deployment.id, (deployment, []))[1].append(pr.key)
    out = []
    for deployment, keys in shipped.values():
        name = f"deploy {deployment_number(deployment)}"
        label = f"deployed to {deployment.environment} ({name})"
        label += f" with {', '.join(keys)}" if several else ""
        at, source = deployment.finished_at, deployment.source
        out.append(TraceEvent(at, DEPLOYED, label, source, deployment.url, name))
    for incident in sorted(snapshot.incidents, key=lambda i: (i.created_at, i.id)):
        if incident.deployment_id in shipped and incident.created_at <= links.now:
            at, source, title = incident.created_at, incident.source, incident.title
            out.append(TraceEvent(at, INCIDENT, f"incident: {title}", source, incident.url, title))
    return out


def deployment_number(deployment: Deployment) -> str:
    """The vendor's own number of a deployment (``41`` of ``github:deploy:acme/api/41``)."""
    return deployment.id.split(":", 2)[-1].rsplit("/", 1)[-1]
