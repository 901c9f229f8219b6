"""The events of an item's journey across tools (METRICS.md section 6): the value stream's clock.

A work item's value stream is bounded by events from every source: the tracker says when it was
``created``, ``committed`` and entered each status; its linked pull requests say when code review
began (``pr_opened``), got its ``first_review``, was ``approved`` and ``merged``; the deployments
say when that code reached production (``deployed``); the incidents say whether that deployment
hurt (``incident``); the tracker again says when it was ``done``. :func:`item_events` reads them
once per item from a :class:`StreamLinks` index built once per snapshot.

The rules, as METRICS.md 6 writes them:

- ``committed``: the first entry into a ``waiting`` or ``active`` stage;
- ``status:<name>``: the *first* entry into each status (every entry is in
  :attr:`ItemEvents.entries`, for rework);
- ``pr_opened``: the first linked pull request's creation; a draft counts from its
  ``ready_for_review``; a pull request still a draft has not opened;
- ``first_review``: the first review submitted by a human who is not the author, on any linked
  pull request;
- ``approved``: the last approval before the last merge;
- ``merged``: the last linked pull request's merge;
- ``deployed``: the first successful production deployment that shipped the last merged pull
  request (when it finished);
- ``done``: the item's finish (METRICS.md 1.2), never a cancellation;
- ``incident``: the first incident attributed to that deployment.

A pull request is linked to an item when its ``linked_keys`` name the item's key. Nothing after
``now`` plays a part; links indexed at ``now`` also serve any earlier instant
(:meth:`StreamLinks.as_of`), so a map and the window before it index the snapshot once. Pure: no
I/O, no clock.
"""

from __future__ import annotations

from bisect import bisect_right, insort
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from operator import attrgetter

from insights.detectors.support.review_facts import is_human_reviewer
from insights.item_timeline import ItemTimeline
from insights.model import (
    Deployment,
    Incident,
    ReviewEvent,
    ReviewState,
    Snapshot,
    Stage,
    Transition,
    WorkItem,
)

CREATED = "created"
COMMITTED = "committed"
PR_OPENED = "pr_opened"
FIRST_REVIEW = "first_review"
APPROVED = "approved"
MERGED = "merged"
DEPLOYED = "deployed"
DONE = "done"
INCIDENT = "incident"
STATUS_PREFIX = "status:"
EVENTS = (
    CREATED,
    COMMITTED,
    PR_OPENED,
    FIRST_REVIEW,
    APPROVED,
    MERGED,
    DEPLOYED,
    DONE,
    INCIDENT,
)
"""The named events, in the order a journey usually meets them (``status:<name>`` aside)."""
CODE_EVENTS = frozenset({PR_OPENED, FIRST_REVIEW, APPROVED, MERGED})
"""The events only an item with a linked pull request has."""
DELIVERY_EVENTS = frozenset({DEPLOYED, INCIDENT})
"""The events only an item whose code reached production has."""
_COMMITTING = frozenset({Stage.WAITING, Stage.ACTIVE})


def status_event(status: str) -> str:
    """The event name of entering ``status`` (``status:Code Review``)."""
    return f"{STATUS_PREFIX}{status}"


def is_status_event(event: str) -> bool:
    """True for ``status:<name>`` events."""
    return event.startswith(STATUS_PREFIX)


@dataclass(slots=True)
class ItemEvents:
    """An item's journey: the instant of each boundary event it has, and what links it.

    Treat it as immutable (:func:`dataclasses.replace` makes a changed copy). It is not ``frozen``:
    a map builds one per finished item, and a frozen dataclass costs twice as much to build.
    """

    item: WorkItem
    at: Mapping[str, datetime]
    """Each event the item has, by name (``created``, ``status:In Progress``, ``merged``...)."""
    transitions: Sequence[Transition] = ()
    """The item's status changes up to ``now``, oldest first."""
    pull_requests: tuple[WorkItem, ...] = ()
    """The linked pull requests, oldest first."""
    changes_requested: bool = False
    """A human asked for changes on one of the linked pull requests (by ``now``)."""
    deployment: Deployment | None = None
    """The deployment behind ``deployed``."""
    incident: Incident | None = None
    """The incident behind ``incident``."""
    settled_at: datetime | None = None
    """The latest instant of anything these events were read from: read as of any later instant,
    the item's events are these (None: unknown)."""

    @property
    def entries(self) -> list[tuple[str, datetime]]:
        """Every status entry in order, ``(status, entered)``, re-entries included."""
        return [(transition.to_status, transition.at) for transition in self.transitions]

    def get(self, event: str) -> datetime | None:
        """The instant of ``event``, None when the item does not have it.

        A status matches whatever its case (app.yaml and the tracker may spell it differently).
        """
        at = self.at.get(event)
        if at is None and event.startswith(STATUS_PREFIX):
            wanted = event.lower()
            at = min((t for name, t in self.at.items() if name.lower() == wanted), default=None)
        return at


@dataclass(slots=True)
class StreamLinks:
    """What links a snapshot's items across tools, indexed once: build with :meth:`of`."""

    now: datetime
    pull_requests: dict[str, list[WorkItem]] = field(default_factory=dict)
    """Linked pull requests by work item key, oldest first."""
    reviews: Mapping[str, Sequence[ReviewEvent]] = field(default_factory=dict)
    first_deployment: dict[str, Deployment] = field(default_factory=dict)
    """By pull request id: the first successful production deployment that shipped it."""
    first_incident: dict[str, Incident] = field(default_factory=dict)
    """By deployment id: the first incident attributed to it."""

    @classmethod
    def of(cls, snapshot: Snapshot, now: datetime) -> StreamLinks:
        """Index ``snapshot``'s links as they stand at ``now``."""
        pull_requests: dict[str, list[WorkItem]] = defaultdict(list)
        for pr in snapshot.pull_requests():
            if pr.removed_at is not None or pr.created_at > now:
                continue
            for key in dict.fromkeys(pr.linked_keys):
                insort(pull_requests[key], pr, key=_opened_order)
        first_deployment: dict[str, Deployment] = {}
        shipped = (
            d for d in snapshot.deployments if d.is_production_success and d.finished_at <= now
        )
        for deployment in sorted(shipped, key=lambda d: (d.finished_at, d.id)):
            for pr_id in deployment.shipped_item_ids:
                first_deployment.setdefault(pr_id, deployment)
        first_incident: dict[str, Incident] = {}
        for incident in sorted(snapshot.incidents, key=lambda i: (i.created_at, i.id)):
            if incident.deployment_id is not None and incident.created_at <= now:
                first_incident.setdefault(incident.deployment_id, incident)
        return cls(now, dict(pull_requests), snapshot.reviews, first_deployment, first_incident)

    def as_of(self, instant: datetime) -> StreamLinks:
        """These links as they stood at ``instant``, which must not be after :attr:`now`.

        The index is shared: :func:`item_events` leaves out what came after ``instant`` (the
        first deployment or incident of the index, when it came later, had no earlier one).
        """
        if instant > self.now:
            raise ValueError(f"links indexed at {self.now} cannot tell what stood at {instant}")
        return replace(self, now=instant)


def _opened_order(pr: WorkItem) -> tuple[datetime, str]:
    return pr.created_at, pr.id


def item_events(timeline: ItemTimeline, links: StreamLinks) -> ItemEvents:
    """The journey of ``timeline``'s item as of ``links.now``."""
    item, now = timeline.item, links.now
    at: dict[str, datetime] = {CREATED: item.created_at}
    transitions = timeline.transitions
    if transitions and transitions[-1].at > now:
        transitions = transitions[: bisect_right(transitions, now, key=_AT)]
    if transitions:
        committed = next((t.at for t in transitions if t.to_stage in _COMMITTING), None)
        if committed is not None:
            at[COMMITTED] = committed
        # The first entry into each status: read backwards, the earliest entry is written last.
        names = _STATUS_EVENTS
        at.update({names[t.to_status]: t.at for t in reversed(transitions)})
    if timeline.finished_at is not None and timeline.finished_at <= now:
        at[DONE] = timeline.finished_at
    prs = [pr for pr in links.pull_requests.get(item.key, ()) if pr.created_at <= now]
    if prs:
        code = _code_events(prs, links)
        at.update(code.at)
    else:
        code = _NO_CODE
    settled = max(at.values())
    if transitions:
        settled = max(settled, transitions[-1].at)
    if code.settled_at is not None:
        settled = max(settled, code.settled_at)
    deployment = incident = None
    if code.last_merged is not None:
        deployment = links.first_deployment.get(code.last_merged.id)
        if deployment is not None and deployment.finished_at > now:
            deployment = None
    if deployment is not None:
        at[DEPLOYED] = deployment.finished_at
        settled = max(settled, deployment.finished_at)
        incident = links.first_incident.get(deployment.id)
        if incident is not None and incident.created_at <= now:
            at[INCIDENT] = incident.created_at
            settled = max(settled, incident.created_at)
        else:
            incident = None
    return ItemEvents(
        item=item,
        at=at,
        transitions=transitions,
        pull_requests=tuple(prs),
        changes_requested=code.changes_requested,
        deployment=deployment,
        incident=incident,
        settled_at=settled,
    )


@dataclass(slots=True)
class _CodeEvents:
    at: dict[str, datetime]
    last_merged: WorkItem | None
    changes_requested: bool
    settled_at: datetime | None
    """The latest creation, merge or review event of the pull requests read."""


_NO_CODE = _CodeEvents({}, None, False, None)


class _StatusEvents(dict[str, str]):
    """``status_event`` of each status met, made once (a team has a few): one string per status."""

    def __missing__(self, status: str) -> str:
        name = self[status] = status_event(status)
        return name


_STATUS_EVENTS = _StatusEvents()
_AT = attrgetter("at")


def _code_events(prs: Sequence[WorkItem], links: StreamLinks) -> _CodeEvents:
    """``pr_opened``, ``first_review``, ``approved`` and ``merged`` of an item's pull requests."""
    now = links.now
    opened: list[datetime] = []
    reviewed: list[datetime] = []
    approvals: list[datetime] = []
    changes_requested = False
    merged = [pr for pr in prs if pr.merged_at is not None and pr.merged_at <= now]
    last_merged = max(merged, key=lambda pr: (pr.merged_at, pr.id)) if merged else None
    settled = max(pr.created_at for pr in prs)
    if last_merged is not None and last_merged.merged_at is not None:
        settled = max(settled, last_merged.merged_at)
    for pr in prs:
        ready: datetime | None = None
        for event in links.reviews.get(pr.id, ()):
            if event.at > now:
                break
            settled = max(settled, event.at)
            if event.state is ReviewState.READY_FOR_REVIEW:
                ready = ready or event.at
            elif event.state is not ReviewState.REQUESTED and is_human_reviewer(pr, event.reviewer):
                reviewed.append(event.at)
                changes_requested |= event.state is ReviewState.CHANGES_REQUESTED
                if event.state is ReviewState.APPROVED:
                    approvals.append(event.at)
        if ready is not None:
            opened.append(ready)
        elif not pr.draft:
            opened.append(pr.created_at)
    at: dict[str, datetime] = {}
    if opened:
        at[PR_OPENED] = min(opened)
    if reviewed:
        at[FIRST_REVIEW] = min(reviewed)
    if last_merged is not None and last_merged.merged_at is not None:
        at[MERGED] = last_merged.merged_at
        before = [t for t in approvals if t <= last_merged.merged_at]
        if before:
            at[APPROVED] = max(before)
    return _CodeEvents(at, last_merged, changes_requested, settled)
