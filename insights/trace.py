"""One item's journey across tools (issue 16): ``/vsm trace PAY-12`` and ``vsm trace PAY-12``.

:func:`trace_item` follows one work item through the team's value stream as of ``now``: every
event that happened to it in any tool, in order (its creation, the commitment, each status it
entered, the flags, each linked pull request with its reviews and merge, the production
deployments that shipped them and the incidents attributed to those, its finish), and what each
step of the stream cost it (:class:`TraceSpan`, measured by
:func:`insights.value_stream.measure_step` exactly as the value stream map measures it).

The events are those of :mod:`insights.trace_events`; the steps are measured from the item's
:mod:`insights.stream_events` boundaries.

While none of its pull requests has merged, the item's last approval so far stands for
``approved`` (METRICS.md 6 dates it by the last merge): an approved pull request waiting to be
merged is in the wait before its merge, not in review.

A pull request's key (``acme/api#7``) traces the first item it is linked to that the team has,
and nothing (None) when it is linked to none: the journey is the work item's, and a pull request
alone has no value stream to trace. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from insights.cross_team import awaited_reviews, blocked_items, items_named, team_of
from insights.detectors.support.review_facts import is_human_reviewer
from insights.detectors.support.wording import duration
from insights.item_timeline import ItemTimeline, timeline_of
from insights.model import ItemKind, ReviewState, Snapshot, Stage, WorkItem
from insights.stream_events import (
    APPROVED,
    CODE_EVENTS,
    COMMITTED,
    CREATED,
    DELIVERY_EVENTS,
    DEPLOYED,
    DONE,
    FIRST_REVIEW,
    INCIDENT,
    MERGED,
    PR_OPENED,
    STATUS_PREFIX,
    ItemEvents,
    StreamLinks,
    is_status_event,
    item_events,
)
from insights.trace_events import TraceEvent, journey
from insights.value_stream import StreamStep, measure_step

_EVENT_WORDS = {
    CREATED: "creation",
    COMMITTED: "commitment",
    PR_OPENED: "pull request opened for review",
    FIRST_REVIEW: "review",
    APPROVED: "approval",
    MERGED: "merge",
    DEPLOYED: "production deployment",
    DONE: "finish",
    INCIDENT: "incident",
}
NO_PR = "no linked PR"
NOT_YET = "not reached yet"
BACKWARDS = "ended before it began"


@dataclass(frozen=True, slots=True)
class TraceSpan:
    """What one step of the stream cost the item (the open step: so far)."""

    name: str
    start_event: str
    end_event: str
    start: datetime
    end: datetime | None
    """None for the step the unfinished item is in now."""
    lead_seconds: float
    process_seconds: float

    @property
    def wait_seconds(self) -> float:
        """The part of the lead time nobody worked on the item."""
        return self.lead_seconds - self.process_seconds

    @property
    def waiting(self) -> bool:
        """True when the item mostly waited through this step."""
        return self.wait_seconds > self.process_seconds


@dataclass(frozen=True, slots=True)
class MissingStep:
    """A step of the stream the item does not have, and why."""

    name: str
    reason: str
    """``no linked PR``, ``no production deployment``, ``not reached yet``..."""


@dataclass(frozen=True, slots=True)
class BlockingItem:
    """An item the traced one is blocked by (a blocked-by link), possibly another team's."""

    key: str
    team: str | None
    """The team whose project the key belongs to (None: no configured team's)."""
    status: str | None
    """Its status, when this team's snapshot or its own team's has it (None: unknown)."""
    url: str | None


@dataclass(frozen=True, slots=True)
class BlockedItem:
    """Another team's item the traced one blocks (its blocked-by link names the traced item)."""

    key: str
    team: str
    status: str
    url: str | None


@dataclass(frozen=True, slots=True)
class Trace:
    """One item's journey across tools as of ``now``."""

    key: str
    title: str
    url: str | None
    status: str
    team: str
    now: datetime
    events: tuple[TraceEvent, ...]
    """Everything that happened to it, oldest first."""
    spans: tuple[TraceSpan, ...]
    """The steps of the stream it has, in stream order (the open one included)."""
    missing_steps: tuple[MissingStep, ...]
    blocked_by: tuple[BlockingItem, ...]
    lead_seconds: float
    """From its first step's start to its last step's end (now, for an open step)."""
    process_seconds: float
    """The process time of its steps, summed."""
    cancelled_at: datetime | None = None
    """When it was cancelled, while it is: its journey ended there, in the step it was in."""
    blocks: tuple[BlockedItem, ...] = ()
    """Other teams' items blocked by it (from their snapshots; () when none were given)."""

    @property
    def finished(self) -> bool:
        """True when its journey has ended: it is done, or cancelled."""
        return self.cancelled_at is not None or any(event.event == DONE for event in self.events)

    @property
    def open_span(self) -> TraceSpan | None:
        """The step the unfinished item is in now."""
        return next((span for span in self.spans if span.end is None), None)

    @property
    def biggest_wait(self) -> TraceSpan | None:
        """The step in which the item waited longest (None: it never waited)."""
        longest = max(self.spans, key=lambda span: span.wait_seconds, default=None)
        return longest if longest is not None and longest.wait_seconds > 0 else None


def span_cost(span: TraceSpan) -> str:
    """What a step cost in words: ``2.1 days (work 1.8 days)``, ``waiting 13 days so far``."""
    if span.lead_seconds == 0:
        return "at once"
    lead = duration(span.lead_seconds) + (" so far" if span.end is None else "")
    if span.process_seconds == 0:
        return f"waiting {lead}"
    waited = f", waiting {duration(span.wait_seconds)}" if span.waiting else ""
    return f"{lead} (work {duration(span.process_seconds)}{waited})"


class NamedProjects(Protocol):
    """A configured team as :func:`project_teams` reads it."""

    @property
    def name(self) -> str: ...

    @property
    def projects(self) -> Sequence[str]: ...


def project_teams(teams: Iterable[NamedProjects]) -> dict[str, str]:
    """Each project key (``PAY``) and the team it belongs to (the first team that names it)."""
    owners: dict[str, str] = {}
    for team in teams:
        for project in team.projects:
            owners.setdefault(project, team.name)
    return owners


def trace_item(
    snapshot: Snapshot,
    key: str,
    steps: Sequence[StreamStep],
    now: datetime,
    *,
    teams_by_project: Mapping[str, str] = {},
    others: Mapping[str, Snapshot] = {},
) -> Trace | None:
    """The journey of the item ``key`` (any case) through ``steps`` as of ``now``.

    ``snapshot`` is the team's as it stood at ``now`` (:func:`insights.as_of.snapshot_as_of` for
    the past); a pull request's key traces the item it is linked to. None when the team has no
    such item. ``teams_by_project`` (:func:`project_teams`) names the team of each blocking item;
    ``others`` (the other configured teams' snapshots by name) give another team's blocker its
    status and link, and the other teams' items the traced one blocks (:attr:`Trace.blocks`).
    """
    item = find_item(snapshot, key)
    if item is None:
        return None
    timeline = timeline_of(
        item, snapshot.transitions.get(item.id, ()), snapshot.flags.get(item.id, ())
    )
    linked = [pr for pr in snapshot.items if item.key in pr.linked_keys]
    links = StreamLinks.of(replace(snapshot, items=linked), now)  # only this item's links
    events = _approved_so_far(item_events(timeline, links), links)
    cancelled_at = timeline.cancelled_at
    open_step = None if events.get(DONE) is not None else _open_step(steps, events)
    spans = _spans(steps, events, timeline, open_step, cancelled_at or now, cancelled_at is None)
    measured = {span.name for span in spans}
    ends = [span.end or now for span in spans]
    return Trace(
        key=item.key,
        title=item.title,
        url=item.url,
        status=item.status,
        team=snapshot.team,
        now=now,
        events=journey(snapshot, timeline, events, links),
        spans=spans,
        missing_steps=tuple(
            MissingStep(step.name, _why_missing(position, step, events, steps, open_step))
            for position, step in enumerate(steps)
            if step.name not in measured
        ),
        blocked_by=_blockers(snapshot, item, teams_by_project, others)
        + tuple(BlockingItem(*pr) for pr in awaited_reviews(snapshot, item, others, now)),
        cancelled_at=cancelled_at,
        blocks=tuple(
            BlockedItem(blocked.key, team, blocked.status, blocked.url)
            for team, blocked in blocked_items(item.key, others, teams_by_project)
        ),
        lead_seconds=(max(ends) - min(s.start for s in spans)).total_seconds() if spans else 0.0,
        process_seconds=sum(span.process_seconds for span in spans),
    )


def find_item(snapshot: Snapshot, key: str) -> WorkItem | None:
    """The live issue keyed ``key`` (any case), or the first one the pull request ``key`` links."""
    issue = _live(snapshot, key, ItemKind.ISSUE)
    if issue is not None:
        return issue
    pull_request = _live(snapshot, key, ItemKind.PULL_REQUEST)
    linked = pull_request.linked_keys if pull_request is not None else ()
    return next((i for k in linked if (i := _live(snapshot, k, ItemKind.ISSUE))), None)


def _live(snapshot: Snapshot, key: str, kind: ItemKind) -> WorkItem | None:
    """The first item of ``kind`` keyed ``key`` in any case, not removed at its vendor."""
    wanted = key.strip().casefold()
    size = len(wanted)
    for item in snapshot.items:  # the length first: most keys differ in it, and it is cheap
        if (
            len(item.key) == size
            and item.kind is kind
            and item.removed_at is None
            and item.key.casefold() == wanted
        ):
            return item
    return None


def _approved_so_far(events: ItemEvents, links: StreamLinks) -> ItemEvents:
    """``events``, with the last approval so far as ``approved`` while no pull request merged.

    METRICS.md 6 dates ``approved`` by the last merge; an approved pull request still waiting to
    be merged is then between its approval and its merge, not in review.
    """
    if events.get(MERGED) is not None or events.get(APPROVED) is not None:
        return events
    approvals = [
        review.at
        for pr in events.pull_requests
        if pr.stage is not Stage.CANCELLED
        for review in links.reviews.get(pr.id, ())
        if review.at <= links.now
        and review.state is ReviewState.APPROVED
        and is_human_reviewer(pr, review.reviewer)
    ]
    return replace(events, at={**events.at, APPROVED: max(approvals)}) if approvals else events


def _spans(
    steps: Sequence[StreamStep],
    events: ItemEvents,
    timeline: ItemTimeline,
    open_step: StreamStep | None,
    until: datetime,
    ongoing: bool,
) -> tuple[TraceSpan, ...]:
    """The steps the item has, and ``open_step`` (the one it is in) measured up to ``until``.

    ``until`` is now for an item still ``ongoing``, else its cancellation, which ends the step.
    """
    spans = []
    for step in steps:
        ending = None if ongoing else until
        if step == open_step:  # measured as if it ended at ``until``
            events_now = replace(events, at={**events.at, step.end: until})
            cost = measure_step(step, events_now, timeline)
        else:
            cost = measure_step(step, events, timeline)
            ending = events.get(step.end)
        start = events.get(step.start)
        if cost is not None and start is not None:
            spans.append(
                TraceSpan(
                    step.name,
                    step.start,
                    step.end,
                    start,
                    ending,
                    cost.lead_seconds,
                    cost.process_seconds,
                )
            )
    return tuple(spans)


def _open_step(steps: Sequence[StreamStep], events: ItemEvents) -> StreamStep | None:
    """The step begun most recently of those the item began and has not ended."""
    begun = [
        (start, position, step)
        for position, step in enumerate(steps)
        if (start := events.get(step.start)) is not None and events.get(step.end) is None
    ]
    return max(begun, key=lambda entry: entry[:2])[2] if begun else None


def _why_missing(
    position: int,
    step: StreamStep,
    events: ItemEvents,
    steps: Sequence[StreamStep],
    open_step: StreamStep | None,
) -> str:
    """Why ``step`` (at ``position`` in ``steps``) is not in the item's journey, in words."""
    start, end = events.get(step.start), events.get(step.end)
    if start is not None and end is not None:
        return BACKWARDS
    if not events.pull_requests and {step.start, step.end} & (CODE_EVENTS | DELIVERY_EVENTS):
        return NO_PR
    if open_step is not None and position > steps.index(open_step):
        return NOT_YET
    lacking = step.start if start is None else step.end
    return f"no {event_words(lacking)}"


def event_words(event: str) -> str:
    """A boundary event in plain words (``merge``, ``entry into QA``)."""
    if is_status_event(event):
        return f"entry into {event.removeprefix(STATUS_PREFIX)}"
    return _EVENT_WORDS.get(event, event)


def _blockers(
    snapshot: Snapshot,
    item: WorkItem,
    teams_by_project: Mapping[str, str],
    others: Mapping[str, Snapshot],
) -> tuple[BlockingItem, ...]:
    """The items ``item`` is blocked by, with their team and, when known, their status.

    A blocker is looked up in this team's snapshot, then in its own team's (among ``others``).
    """
    if not item.blocked_by:
        return ()
    wanted = {key.casefold() for key in item.blocked_by}
    known = items_named(item.blocked_by, others, teams_by_project)
    known.update((i.key.casefold(), i) for i in snapshot.items if i.key.casefold() in wanted)
    out = []
    for key in dict.fromkeys(item.blocked_by):
        blocker = known.get(key.casefold())
        out.append(
            BlockingItem(
                key,
                team_of(key, teams_by_project),
                blocker.status if blocker is not None else None,
                blocker.url if blocker is not None else None,
            )
        )
    return tuple(out)
