"""A team's snapshot as it was at a past instant: what a sync run then would have stored.

A snapshot holds each item as it stands now and its whole history. A report of the past
(``vsm report --as-of``) must not see what happened after its instant, so
:func:`snapshot_as_of` cuts every history at ``at`` (inclusive: an event at ``at`` has happened):

- An item created after ``at`` does not exist, nor one removed at or before it (a later
  ``removed_at`` is cleared). Its transitions, flag changes and review events after ``at`` are
  dropped.
- Its status and stage are those its last remaining transition entered. Before its first
  transition, it is in the status it was created in: the first transition's ``from`` (the backlog
  stage when the history does not name it, as :func:`insights.item_timeline.timeline_of` reads
  it). An item without any history keeps its status, except that one finished after ``at``
  (resolution, else last update, as its timeline has it) was then in progress since its creation
  if done, and not started if cancelled; its status name stays the current one, the only one
  known.
- ``resolved_at`` after ``at`` becomes the instant the item entered the finished stage it was in
  at ``at`` (None when it was not finished); ``merged_at`` (and ``merge_sha``) after ``at`` is
  cleared; ``updated_at`` after ``at`` becomes the last change the data records by then (creation,
  transition, flag, review, resolution): a comment or an edit leaves no record, so it is a lower
  bound. A pull request readied for review after ``at`` was a draft at ``at``.
- Deployments finished after ``at`` are dropped (one still running had no outcome yet).
  Incidents created after ``at`` are dropped; acknowledgements and resolutions after it cleared.
  Pipeline runs queued (created, else started) after ``at`` are dropped; one started after ``at``
  was queued since its creation, and one finished after ``at`` was still running.

Everything else is as of now, because no history of it is recorded: an item's title, type,
assignee, priority, labels, parent, story points, blocked-by links and URL; a pull request's
author, size, head branch, first commit and linked keys (and a draft converted back after being
readied); an item's releases and due date, and the plans (a release's date, a filter's issues);
the pull requests a deployment shipped and the deployment an incident is attributed to.
A pull request's status name comes from its history too ("open"), not the vendor's "draft".
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from operator import attrgetter
from typing import Generic, TypeVar

from insights.model import (
    FlagChange,
    Incident,
    Outcome,
    PipelineRun,
    ReviewEvent,
    ReviewState,
    Snapshot,
    Stage,
    Transition,
    WorkItem,
)

E = TypeVar("E", Transition, FlagChange, ReviewEvent)
ItemAsOf = tuple[WorkItem, Sequence[Transition], Sequence[FlagChange], Sequence[ReviewEvent]]
"""An item and its status changes, flag changes and review events, oldest first."""
Extent = tuple[datetime | None, bool]
"""The latest instant a snapshot records (None: none), and whether it holds removed items."""
_AT = attrgetter("at")
_READY = ReviewState.READY_FOR_REVIEW
V = TypeVar("V")
KEPT = 2
"""How many snapshots' extents, and how many cuts, :func:`snapshot_as_of` remembers (each keeps
its snapshots alive), like the timelines :func:`insights.metrics.flow_items.item_timelines`
keeps."""


class _Kept(Generic[V]):
    """The last ``KEPT`` values worked out for snapshots, by snapshot identity and a key."""

    def __init__(self) -> None:
        self._entries: dict[tuple[int, Hashable], tuple[Snapshot, V]] = {}

    def get(self, snapshot: Snapshot, key: Hashable, compute: Callable[[], V]) -> V:
        """The value kept for ``snapshot`` and ``key``, else ``compute()``, then kept."""
        entry = self._entries.get((id(snapshot), key))
        if entry is not None and entry[0] is snapshot:
            return entry[1]
        value = compute()
        self.keep(snapshot, key, value)
        return value

    def keep(self, snapshot: Snapshot, key: Hashable, value: V) -> None:
        """Keep ``value``, forgetting the oldest (replaced whole: safe across threads)."""
        entries = list(self._entries.items())[-(KEPT - 1) :] if KEPT > 1 else []
        self._entries = {**dict(entries), (id(snapshot), key): (snapshot, value)}


_extents: _Kept[Extent] = _Kept()
_cuts: _Kept[Snapshot] = _Kept()


def snapshot_as_of(snapshot: Snapshot, at: datetime) -> Snapshot:
    """``snapshot`` as it was at ``at`` (see the module docstring); itself when nothing is later.

    Whether anything is later is worked out once per snapshot, and the cut once per snapshot and
    instant (the last ``KEPT`` are remembered): a report as of now on a snapshot the bot keeps
    costs a comparison, and the reports of one past instant share their timelines.
    """
    latest, removed = _extents.get(snapshot, None, lambda: extent(snapshot))
    if not removed and (latest is None or latest <= at):
        return snapshot
    return _cuts.get(snapshot, at, lambda: _cut(snapshot, at))


def _cut(snapshot: Snapshot, at: datetime) -> Snapshot:
    """The snapshot as it was at ``at``, remembered to hold nothing later."""
    items, transitions, flags, reviews = _items_as_of(snapshot, at)
    past = Snapshot(
        team=snapshot.team,
        items=items,
        transitions=transitions,
        flags=flags,
        reviews=reviews,
        deployments=[d for d in snapshot.deployments if d.finished_at <= at],
        pipeline_runs=[r for r in (run_as_of(r, at) for r in snapshot.pipeline_runs) if r],
        incidents=[i for i in (incident_as_of(i, at) for i in snapshot.incidents) if i],
        statuses=snapshot.statuses,
        plans=snapshot.plans,
    )
    _extents.keep(past, None, (at, False))
    return past


def extent(snapshot: Snapshot) -> Extent:
    """The latest instant ``snapshot`` records, and whether it holds removed items."""
    items = snapshot.items
    histories = (snapshot.transitions, snapshot.flags, snapshot.reviews)
    columns: list[Iterable[datetime | None]] = [
        (i.created_at for i in items),
        (i.updated_at for i in items),
        (i.resolved_at for i in items),
        (i.merged_at for i in items),
        *((events[-1].at for events in history.values() if events) for history in histories),
        (d.finished_at for d in snapshot.deployments),
        (i.created_at for i in snapshot.incidents),
        (i.acknowledged_at for i in snapshot.incidents),
        (i.resolved_at for i in snapshot.incidents),
        (r.created_at for r in snapshot.pipeline_runs),
        (r.started_at for r in snapshot.pipeline_runs),
        (r.finished_at for r in snapshot.pipeline_runs),
    ]
    removed = any(i.removed_at is not None for i in items)
    return _latest(_latest(column) for column in columns), removed


def item_as_of(
    item: WorkItem,
    transitions: Sequence[Transition],
    flags: Sequence[FlagChange],
    reviews: Sequence[ReviewEvent],
    at: datetime,
) -> ItemAsOf:
    """An item that existed at ``at`` and its events (oldest first), as they were then.

    The item and the sequences themselves come back when nothing about them is later.
    """
    moves, changes, events = _until(transitions, at), _until(flags, at), _until(reviews, at)
    if (
        moves is transitions
        and changes is flags
        and events is reviews
        and item.updated_at <= at
        and _by(item.resolved_at, at)
        and _by(item.merged_at, at)
        and item.removed_at is None
    ):
        return item, transitions, flags, reviews
    status, stage = _state_at(item, transitions, moves, at)
    resolved = _resolved_at(item, stage, moves, at)
    merged = item.merged_at if _by(item.merged_at, at) else None
    updated = item.updated_at
    if updated > at:
        updated = _last_change(item, (moves, changes, events), resolved)
    past = replace(
        item,
        status=status,
        stage=stage,
        updated_at=updated,
        resolved_at=resolved,
        merged_at=merged,
        merge_sha=item.merge_sha if merged == item.merged_at else None,
        draft=item.draft or any(e.state is _READY for e in reviews[len(events) :]),
        removed_at=None,
    )
    return past, moves, changes, events


def incident_as_of(incident: Incident, at: datetime) -> Incident | None:
    """The incident as it was at ``at``; None when it was not open yet."""
    if incident.created_at > at:
        return None
    if _by(incident.acknowledged_at, at) and _by(incident.resolved_at, at):
        return incident
    return replace(
        incident,
        acknowledged_at=incident.acknowledged_at if _by(incident.acknowledged_at, at) else None,
        resolved_at=incident.resolved_at if _by(incident.resolved_at, at) else None,
    )


def run_as_of(run: PipelineRun, at: datetime) -> PipelineRun | None:
    """The pipeline run as it was at ``at``; None when it was not queued yet."""
    queued = run.created_at or run.started_at
    if queued > at:
        return None
    if run.started_at > at:
        return replace(run, started_at=queued, finished_at=None, outcome=Outcome.RUNNING)
    if not _by(run.finished_at, at):
        return replace(run, finished_at=None, outcome=Outcome.RUNNING)
    return run


def _items_as_of(
    snapshot: Snapshot, at: datetime
) -> tuple[
    list[WorkItem],
    dict[str, Sequence[Transition]],
    dict[str, Sequence[FlagChange]],
    dict[str, Sequence[ReviewEvent]],
]:
    """The items of ``snapshot`` present at ``at`` and their events by item id, as they were.

    Unchanged items and event sequences are shared with ``snapshot``.
    """
    transitions, flags, reviews, none = snapshot.transitions, snapshot.flags, snapshot.reviews, ()
    items: list[WorkItem] = []
    past_transitions: dict[str, Sequence[Transition]] = {}
    past_flags: dict[str, Sequence[FlagChange]] = {}
    past_reviews: dict[str, Sequence[ReviewEvent]] = {}
    for item in snapshot.items:
        if not _present(item, at):
            continue
        item_id = item.id
        past, moves, changes, events = item_as_of(
            item,
            transitions.get(item_id, none),
            flags.get(item_id, none),
            reviews.get(item_id, none),
            at,
        )
        items.append(past)
        if item_id in transitions:
            past_transitions[item_id] = moves
        if item_id in flags:
            past_flags[item_id] = changes
        if item_id in reviews:
            past_reviews[item_id] = events
    return items, past_transitions, past_flags, past_reviews


def _present(item: WorkItem, at: datetime) -> bool:
    """The item was created by ``at`` and not removed by then."""
    return item.created_at <= at and (item.removed_at is None or item.removed_at > at)


def _by(instant: datetime | None, at: datetime) -> bool:
    """``instant`` is unset or at or before ``at``: the value held at ``at`` already."""
    return instant is None or instant <= at


def _until(events: Sequence[E], at: datetime) -> Sequence[E]:
    """The time-sorted ``events`` at or before ``at`` (``events`` itself when all are)."""
    if not events or events[-1].at <= at:
        return events
    return events[: bisect_right(events, at, key=_AT)]


def _state_at(
    item: WorkItem, transitions: Sequence[Transition], moves: Sequence[Transition], at: datetime
) -> tuple[str, Stage]:
    """The status and stage of ``item`` at ``at``; ``moves`` are its transitions by then."""
    if moves:
        return moves[-1].to_status, moves[-1].to_stage
    if transitions:
        first = transitions[0]
        return first.from_status or item.status, first.from_stage or Stage.BACKLOG
    finished_at = item.resolved_at or item.updated_at
    if item.stage.finished and finished_at > at:
        return item.status, Stage.ACTIVE if item.stage is Stage.DONE else Stage.BACKLOG
    return item.status, item.stage


def _resolved_at(
    item: WorkItem, stage: Stage, moves: Sequence[Transition], at: datetime
) -> datetime | None:
    """The resolution of ``item`` at ``at``, when it was in ``stage`` after ``moves``."""
    if item.resolved_at is not None and item.resolved_at <= at:
        return item.resolved_at
    if not stage.finished:
        return None
    return moves[-1].at if moves else item.created_at


def _last_change(
    item: WorkItem,
    histories: Iterable[Sequence[Transition | FlagChange | ReviewEvent]],
    resolved: datetime | None,
) -> datetime:
    """The last change the data records of ``item``: its creation, events and resolution."""
    ends = [events[-1].at for events in histories if events]
    return max([item.created_at, *ends, *([resolved] if resolved else [])])


def _latest(instants: Iterable[datetime | None]) -> datetime | None:
    return max((at for at in instants if at is not None), default=None)
