"""A team's value stream steps (METRICS.md section 6): what bounds each, what it costs an item.

A team's stream is an ordered list of :class:`StreamStep`, each bounded by two events of
:mod:`insights.stream_events` (``status:In Progress`` → ``pr_opened``, ``merged`` →
``deployed``...). For one item, a step lasts its **lead time** ``t(end) - t(start)``; the part of
it when the item was being worked on is its **process time**, and the rest is **wait**
(:func:`measure_step`). How process time is measured depends on what bounds the step
(:attr:`StreamStep.measure`):

- ``wait``: ``pr_opened → first_review`` and ``approved → merged`` (and any step starting at
  ``approved``): nobody works on the change, so process time is 0;
- ``review``: any other step between code events (``first_review → approved``): the whole span;
- ``delivery``: a step ending at ``deployed``: the production deployment's own duration when its
  start is known, else 0;
- ``board``: every other step: the time in ``active`` stages inside the span, minus the flagged
  part (METRICS.md 1.5).

:func:`default_steps` is the stream a team gets without ``value_stream:`` in app.yaml, and
:func:`resolve_steps` picks the configured steps or that default for what a snapshot links.
Import these names from :mod:`insights.value_stream`, which measures a stream over a window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from insights.item_timeline import ItemTimeline
from insights.metrics.efficiency import active_seconds
from insights.model import ItemKind, Snapshot, Stage
from insights.stream_events import (
    APPROVED,
    CODE_EVENTS,
    COMMITTED,
    CREATED,
    DEPLOYED,
    DONE,
    FIRST_REVIEW,
    MERGED,
    PR_OPENED,
    ItemEvents,
    status_event,
)
from insights.workflow import default_stage

BOARD = "board"
REVIEW = "review"
WAIT = "wait"
DELIVERY = "delivery"
_WAITS = frozenset({(PR_OPENED, FIRST_REVIEW), (APPROVED, MERGED)})
_FLOWING = frozenset({Stage.WAITING, Stage.ACTIVE})


@dataclass(frozen=True, slots=True)
class StreamStep:
    """One step of a value stream: from one boundary event to the next."""

    name: str
    """What the team calls it ("In progress", "Waiting for review", "Release")."""
    start: str
    """The event that begins it (``status:In Progress``, ``pr_opened``...)."""
    end: str
    """The event that ends it."""

    @property
    def measure(self) -> str:
        """How its process time is measured: ``board``, ``review``, ``wait`` or ``delivery``."""
        if (self.start, self.end) in _WAITS or self.start == APPROVED:
            return WAIT
        if self.end == DEPLOYED:
            return DELIVERY
        if self.start in CODE_EVENTS and self.end in CODE_EVENTS | {MERGED}:
            return REVIEW
        return BOARD


@dataclass(frozen=True, slots=True)
class StepTime:
    """What one step cost one item, in seconds."""

    lead_seconds: float
    process_seconds: float

    @property
    def wait_seconds(self) -> float:
        """The lead time nobody worked on the item."""
        return self.lead_seconds - self.process_seconds


def measure_step(step: StreamStep, events: ItemEvents, timeline: ItemTimeline) -> StepTime | None:
    """What ``step`` cost the item of ``events``; None when it lacks an event or they run backwards.

    ``timeline`` is the item's (for the active and flagged time of a board step).
    """
    start, end = events.get(step.start), events.get(step.end)
    if start is None or end is None or end < start:
        return None
    lead = (end - start).total_seconds()
    return StepTime(lead, process_seconds(step.measure, start, end, events, timeline))


def process_seconds(
    measure: str, start: datetime, end: datetime, events: ItemEvents, timeline: ItemTimeline
) -> float:
    """The process time of a step measured as ``measure`` over ``[start, end]`` (``start <= end``).

    :func:`measure_step` for a caller that has the step's measure and instants at hand already.
    """
    lead = (end - start).total_seconds()
    if measure == WAIT:
        return 0.0
    if measure == REVIEW:
        return lead
    if measure == DELIVERY:
        deployment = events.deployment
        began = deployment.started_at if deployment is not None else None
        process = (end - began).total_seconds() if began is not None and began <= end else 0.0
    else:
        process = active_seconds(timeline, start, end)
    return min(max(process, 0.0), lead)


# --- The default stream ------------------------------------------------------------------------


def default_steps(
    workflow: Sequence[tuple[str, Stage]], *, has_code: bool, has_delivery: bool
) -> tuple[StreamStep, ...]:
    """The stream a team gets without ``value_stream:``: board stages, code review, delivery.

    ``workflow`` is the team's statuses in board order with their stages. The rule:

    1. ``Backlog``: ``created → committed`` (the wait before the team commits to the item);
    2. with linked pull requests (``has_code``): ``Waiting to start``: ``committed →`` the first
       active status, when a waiting status comes before it on the board; ``Development``: from
       that status (else from ``committed``) ``→ pr_opened``; ``Waiting for review``:
       ``pr_opened → first_review``; ``Review``: ``first_review → approved``; ``Waiting to
       merge``: ``approved → merged``; then, with production deployments that ship them
       (``has_delivery``), ``Release``: ``merged → deployed`` and ``Verification``: ``deployed →
       done``, else ``Verification``: ``merged → done``;
    3. without code (``has_delivery`` alone cannot happen: ``deployed`` follows a merge), one step
       per in-progress board column (waiting or active; blocked is a state, not a place), named
       after it: the first from ``committed``, each to the entry into the next column, the last
       to ``done``; without any such column, ``In progress``: ``committed → done``.
    """
    columns = [(name, stage) for name, stage in workflow if stage in _FLOWING]
    backlog = StreamStep("Backlog", CREATED, COMMITTED)
    if not has_code:
        if not columns:
            return backlog, StreamStep("In progress", COMMITTED, DONE)
        starts = [COMMITTED, *(status_event(name) for name, _ in columns[1:])]
        ends = [*starts[1:], DONE]
        return backlog, *(
            StreamStep(name, start, end)
            for (name, _), start, end in zip(columns, starts, ends, strict=True)
        )
    steps = [backlog]
    first_active = next((i for i, (_, stage) in enumerate(columns) if stage is Stage.ACTIVE), None)
    build_start = COMMITTED
    if first_active:  # a waiting column comes before it (position 0 is never "before")
        build_start = status_event(columns[first_active][0])
        steps.append(StreamStep("Waiting to start", COMMITTED, build_start))
    steps += [
        StreamStep("Development", build_start, PR_OPENED),
        StreamStep("Waiting for review", PR_OPENED, FIRST_REVIEW),
        StreamStep("Review", FIRST_REVIEW, APPROVED),
        StreamStep("Waiting to merge", APPROVED, MERGED),
    ]
    if has_delivery:
        steps += [
            StreamStep("Release", MERGED, DEPLOYED),
            StreamStep("Verification", DEPLOYED, DONE),
        ]
    else:
        steps.append(StreamStep("Verification", MERGED, DONE))
    return tuple(steps)


def resolve_steps(
    snapshot: Snapshot, workflow: Sequence[tuple[str, Stage]], steps: Sequence[StreamStep] = ()
) -> tuple[StreamStep, ...]:
    """The configured ``steps``, or the default stream for what ``snapshot`` links.

    ``has_code``: a pull request names an issue of the snapshot; ``has_delivery``: a successful
    production deployment shipped one of those pull requests.
    """
    if steps:
        return tuple(steps)
    facts = _facts(snapshot)
    return default_steps(workflow, has_code=facts.has_code, has_delivery=facts.has_delivery)


def workflow_of(snapshot: Snapshot) -> list[tuple[str, Stage]]:
    """The snapshot's statuses in board order (``snapshot.statuses``), each with its stage.

    A status's stage is the one its issues have (done rather than cancelled when both occur: a
    Done status holds the items resolved as Won't Do too), else the one the status changes into
    it recorded, else the one its name suggests (:func:`insights.workflow.default_stage`).
    """
    return list(_facts(snapshot).workflow)


@dataclass(frozen=True, slots=True)
class _SnapshotFacts:
    workflow: tuple[tuple[str, Stage], ...]
    has_code: bool
    has_delivery: bool


SNAPSHOTS_KEPT = 2
"""How many snapshots' facts :func:`resolve_steps` and :func:`workflow_of` keep (a snapshot is
immutable; the report, its detectors and the map of one snapshot each ask)."""
_facts_kept: dict[int, tuple[Snapshot, _SnapshotFacts]] = {}


def _facts(snapshot: Snapshot) -> _SnapshotFacts:
    """The board order with stages and what ``snapshot`` links, worked out once per snapshot."""
    global _facts_kept
    kept = _facts_kept.get(id(snapshot))
    if kept is not None and kept[0] is snapshot:
        return kept[1]
    facts = _work_out(snapshot)
    entries = list(_facts_kept.items())[-(SNAPSHOTS_KEPT - 1) :]
    _facts_kept = {**dict(entries), id(snapshot): (snapshot, facts)}  # replaced whole: thread-safe
    return facts


def _work_out(snapshot: Snapshot) -> _SnapshotFacts:
    wanted = {status.lower() for status in snapshot.statuses}
    known: dict[str, Stage] = {}
    issues: set[str] = set()
    for item in snapshot.items:
        if item.kind is not ItemKind.ISSUE:
            continue
        issues.add(item.key)
        status = item.status.lower()
        if status in wanted and known.get(status) in (None, Stage.CANCELLED):
            known[status] = item.stage
    missing = wanted - known.keys()
    for transitions in snapshot.transitions.values() if missing else ():
        for transition in transitions:
            status = transition.to_status.lower()
            if status in missing:
                known[status] = transition.to_stage
                missing.discard(status)
        if not missing:
            break
    linked = {
        pr.id
        for pr in snapshot.pull_requests()
        if pr.removed_at is None and any(key in issues for key in pr.linked_keys)
    }
    return _SnapshotFacts(
        workflow=tuple((s, known.get(s.lower()) or default_stage(s)) for s in snapshot.statuses),
        has_code=bool(linked),
        has_delivery=any(
            deployment.is_production_success and not linked.isdisjoint(deployment.shipped_item_ids)
            for deployment in snapshot.deployments
        ),
    )
