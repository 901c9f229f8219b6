"""The value stream map of a team (METRICS.md section 6): its steps, and what one step costs.

A team's stream is an ordered list of :class:`StreamStep`, each bounded by two events of
:mod:`insights.stream_events` (``status:In Progress`` → ``pr_opened``, ``merged`` →
``deployed``...). For one item, a step lasts its **lead time** ``t(end) − t(start)``; the part of
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
"""

from __future__ import annotations

from dataclasses import dataclass

from insights.item_timeline import ItemTimeline
from insights.metrics.efficiency import active_seconds
from insights.stream_events import (
    APPROVED,
    CODE_EVENTS,
    DEPLOYED,
    FIRST_REVIEW,
    MERGED,
    PR_OPENED,
    ItemEvents,
)

BOARD = "board"
REVIEW = "review"
WAIT = "wait"
DELIVERY = "delivery"
_WAITS = frozenset({(PR_OPENED, FIRST_REVIEW), (APPROVED, MERGED)})


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
    measure = step.measure
    if measure == WAIT:
        process = 0.0
    elif measure == REVIEW:
        process = lead
    elif measure == DELIVERY:
        deployment = events.deployment
        began = deployment.started_at if deployment is not None else None
        process = (end - began).total_seconds() if began is not None and began <= end else 0.0
    else:
        process = active_seconds(timeline, start, end)
    return StepTime(lead, min(max(process, 0.0), lead))
