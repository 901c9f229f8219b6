"""The value stream map of a team (METRICS.md section 6) over the items finished in a window.

A team's stream is an ordered list of steps (:mod:`insights.stream_steps`: :class:`StreamStep`,
how a step's process time is measured, the default stream; every name of it is importable from
here). :func:`value_stream_map` measures the stream over the items finished in a window: per step
the items counted, missing and backwards, lead, process and wait percentiles, the wait share and
%C&A; for the stream its lead time, activity ratio, rolled %C&A and the :class:`Hotspot` where
the time goes, with its change against the window before.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from insights.item_timeline import ItemTimeline
from insights.model import Snapshot
from insights.percentiles import MIN_VALUES, cycle_time_percentiles
from insights.stream_events import (
    CREATED,
    ItemEvents,
    StreamLinks,
    is_status_event,
    item_events,
)
from insights.stream_rework import BoardPositions, sent_back
from insights.stream_steps import BOARD as BOARD  # the stream's names are read from here too
from insights.stream_steps import DELIVERY as DELIVERY
from insights.stream_steps import REVIEW as REVIEW
from insights.stream_steps import WAIT as WAIT
from insights.stream_steps import StepTime as StepTime
from insights.stream_steps import StreamStep as StreamStep
from insights.stream_steps import default_steps as default_steps
from insights.stream_steps import measure_step as measure_step
from insights.stream_steps import process_seconds as process_seconds
from insights.stream_steps import resolve_steps as resolve_steps
from insights.stream_steps import workflow_of as workflow_of
from insights.timeline_index import Timelines

# --- The map -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StepStats:
    """One step of the map over the items finished in a window (METRICS.md 6)."""

    step: StreamStep
    items: int
    """Items counted: both events, in order."""
    missing: int
    """Items lacking either event (for a code step, the items with no pull request among them)."""
    backwards: int
    """Items whose ``t(end) < t(start)``: not counted."""
    lead_seconds_p50: float | None
    lead_seconds_p85: float | None
    process_seconds_p50: float | None
    process_seconds_p85: float | None
    wait_seconds_p50: float | None
    wait_seconds_p85: float | None
    lead_seconds_total: float
    process_seconds_total: float
    wait_share: float | None
    """``Σ wait / Σ LT`` (a ratio of sums); None without lead time."""
    complete_accurate: float | None
    """%C&A in 0..1: the counted items not sent back into this step (and, for a review step,
    none of whose pull requests had changes requested); None when none was counted."""
    item_keys: tuple[str, ...]
    """The counted items."""

    @property
    def wait_seconds_total(self) -> float:
        """``Σ (LT - PT)``."""
        return self.lead_seconds_total - self.process_seconds_total


@dataclass(frozen=True, slots=True)
class Hotspot:
    """Where the time goes: the part of one step with the largest share of the stream's time.

    Each step competes with its two parts: its **wait** (``Σ (LT - PT)``) and its **process**
    time (``Σ PT``); a wait step (``pr_opened → first_review``) has only a wait. The share is of
    ``Σ LT`` over the steps after the commitment point: a step starting at ``created`` (the
    backlog, upstream of commitment, METRICS.md 3.1) is on the map and in the stream's lead time,
    but it is not where flow is lost, so neither it nor its time counts here (unless every step
    starts at ``created``).
    """

    step: str
    part: str
    """``wait`` or ``process``."""
    share: float
    previous_share: float | None
    """The same part's share in the window of equal length before; None when that window
    counted fewer than :data:`MIN_ITEMS` items for the step (or the map was made without it)."""
    change: float | None
    """``share - previous_share``."""


@dataclass(frozen=True, slots=True)
class ValueStreamMap:
    """A team's value stream over the items finished in ``[start, end)`` (METRICS.md 6)."""

    team: str
    start: datetime
    end: datetime
    steps: tuple[StepStats, ...]
    items: int
    """Items finished in the window."""
    no_pr: int
    """Of them, those with no linked pull request: they skip the code steps."""
    lead_seconds_p50: float | None
    """The stream's lead time per item, ``t(last boundary) - t(first boundary)``."""
    lead_seconds_p85: float | None
    activity_ratio: float | None
    """``Σ PT / Σ LT`` over every step and item."""
    rolled_complete_accurate: float | None
    """The product of the steps' %C&A (those with a value)."""
    hotspot: Hotspot | None
    item_keys: tuple[str, ...] = ()
    """The items finished in the window."""


MIN_ITEMS = MIN_VALUES
"""Fewer items than this publish no percentiles, and no previous share (METRICS.md 3.7)."""
WAIT_PART = "wait"
PROCESS_PART = "process"
_QUANTILES = (50, 85)
_END_OF_TIME = datetime.max.replace(tzinfo=UTC)
"""The links of a snapshot are indexed once, with everything in it, then read as of an instant."""


@dataclass(slots=True)
class _StepTally:
    keys: list[str] = field(default_factory=list)
    lead: list[float] = field(default_factory=list)
    process: list[float] = field(default_factory=list)
    missing: int = 0
    backwards: int = 0
    sent_back: int = 0


@dataclass(slots=True)
class _Tally:
    steps: list[_StepTally]
    keys: list[str] = field(default_factory=list)
    no_pr: int = 0
    stream: list[float] = field(default_factory=list)


def value_stream_map(
    snapshot: Snapshot,
    lines: Timelines,
    steps: Sequence[StreamStep],
    start: datetime,
    end: datetime,
    *,
    previous: bool = True,
) -> ValueStreamMap:
    """The map of ``steps`` over the flow items finished in ``[start, end)``, events as of ``end``.

    ``lines`` are ``snapshot``'s flow-item timelines (:func:`insights.metrics.flow_items.
    item_timelines`). With ``previous``, the hotspot's change is against the window of equal
    length before ``start`` (its items' events as of ``start``). Only the items finished in the
    two windows are read; the links between tools are indexed once. The map is kept with
    ``lines`` (:meth:`~insights.timeline_index.Timelines.memo`), so the report and the
    ``value_stream`` detector of one instant share it.
    """
    chosen = tuple(steps)
    if not chosen:
        raise ValueError("a value stream needs at least one step")
    if end < start:
        raise ValueError(f"end ({end}) must not be before start ({start})")
    key = ("value_stream", chosen, start, end, previous)
    return lines.memo(key, lambda: _map(snapshot, lines, chosen, start, end, previous))


def _map(
    snapshot: Snapshot,
    lines: Timelines,
    chosen: tuple[StreamStep, ...],
    start: datetime,
    end: datetime,
    previous: bool,
) -> ValueStreamMap:
    """:func:`value_stream_map`, worked out."""
    everything = lines.memo("stream_links", lambda: StreamLinks.of(snapshot, _END_OF_TIME))
    order = BoardPositions(snapshot.statuses)
    now = _tally(_journeys(lines, start, end, everything), chosen, end, order)
    index, hotspot = _hotspot(chosen, now)
    if previous and hotspot is not None:
        earlier = _journeys(lines, start - (end - start), start, everything)
        before = _tally(earlier, chosen, start, order, process_of=index)
        hotspot = _compared(chosen, hotspot, index, before)
    stats = tuple(_stats(step, tally) for step, tally in zip(chosen, now.steps, strict=True))
    lead_total = sum(s.lead_seconds_total for s in stats)
    rates = [s.complete_accurate for s in stats if s.complete_accurate is not None]
    stream = cycle_time_percentiles(now.stream, MIN_ITEMS, lines=_QUANTILES) or {}
    return ValueStreamMap(
        team=snapshot.team,
        start=start,
        end=end,
        steps=stats,
        items=len(now.keys),
        no_pr=now.no_pr,
        lead_seconds_p50=stream.get(50),
        lead_seconds_p85=stream.get(85),
        activity_ratio=sum(s.process_seconds_total for s in stats) / lead_total
        if lead_total
        else None,
        rolled_complete_accurate=math.prod(rates) if rates else None,
        hotspot=hotspot,
        item_keys=tuple(now.keys),
    )


def _journeys(
    lines: Timelines, start: datetime, end: datetime, everything: StreamLinks
) -> Iterator[tuple[ItemTimeline, ItemEvents]]:
    """The items finished in ``[start, end)`` with their events as of ``end``.

    Each item's events are read once with every link (``everything``) and kept with ``lines``:
    as of any instant after they settled they are the same, so only the items with something
    later than ``end`` are read again. Maps of later instants reuse nearly all of them.
    """
    rows = lines.finished_rows(start, end).tolist()
    settled = lines.each("stream_events", rows, lambda t: item_events(t, everything))
    links = everything.as_of(end)
    for row, events in zip(rows, settled, strict=True):
        timeline = lines[row]
        if events.settled_at is None or events.settled_at > end:
            events = item_events(timeline, links)
        yield timeline, events


def _tally(
    journeys: Iterable[tuple[ItemTimeline, ItemEvents]],
    steps: tuple[StreamStep, ...],
    now: datetime,
    positions: BoardPositions,
    process_of: int | None = None,
) -> _Tally:
    """Each step's lead and process time per item, and the items missing it or sent back.

    With ``process_of`` (the window before, for the hotspot's change), only the lead times, and
    the process time of that step, are measured.
    """
    detail = process_of is None
    tally = _Tally([_StepTally() for _ in steps])
    plan = [  # per step: its bounds, how it is measured, and whether its process time is wanted
        (
            step.start,
            step.end,
            step.measure,
            is_status_event(step.start) or is_status_event(step.end),
            counts,
            detail or index == process_of,
        )
        for index, (step, counts) in enumerate(zip(steps, tally.steps, strict=True))
    ]
    reviews = [i for i, step in enumerate(steps) if step.measure == REVIEW]
    for timeline, events in journeys:
        at, key = events.at, timeline.item.key
        tally.keys.append(key)
        if not events.pull_requests:
            tally.no_pr += 1
        spans: list[tuple[datetime, datetime] | None] = []
        for start, end, measure, status, counts, measured in plan:
            begins, ends = at.get(start), at.get(end)
            if status and (begins is None or ends is None):  # a status spelled in another case
                begins, ends = events.get(start), events.get(end)
            if begins is None or ends is None:
                counts.missing += 1
                spans.append(None)
            elif ends < begins:
                counts.backwards += 1
                spans.append(None)
            else:
                counts.keys.append(key)
                counts.lead.append((ends - begins).total_seconds())
                if measured:
                    process = process_seconds(measure, begins, ends, events, timeline)
                    counts.process.append(process)
                spans.append((begins, ends))
        if not detail:
            continue
        returned = sent_back(timeline, spans, positions, now)
        if events.changes_requested:
            returned.update(i for i in reviews if spans[i] is not None)
        for index in returned:
            tally.steps[index].sent_back += 1
        began, finished = events.get(steps[0].start), events.get(steps[-1].end)
        if began is not None and finished is not None and finished >= began:
            tally.stream.append((finished - began).total_seconds())
    return tally


def _stats(step: StreamStep, tally: _StepTally) -> StepStats:
    lead = cycle_time_percentiles(tally.lead, MIN_ITEMS, lines=_QUANTILES) or {}
    process = cycle_time_percentiles(tally.process, MIN_ITEMS, lines=_QUANTILES) or {}
    waits = [a - b for a, b in zip(tally.lead, tally.process, strict=True)]
    wait = cycle_time_percentiles(waits, MIN_ITEMS, lines=_QUANTILES) or {}
    lead_total, process_total = sum(tally.lead), sum(tally.process)
    counted = len(tally.keys)
    return StepStats(
        step=step,
        items=counted,
        missing=tally.missing,
        backwards=tally.backwards,
        lead_seconds_p50=lead.get(50),
        lead_seconds_p85=lead.get(85),
        process_seconds_p50=process.get(50),
        process_seconds_p85=process.get(85),
        wait_seconds_p50=wait.get(50),
        wait_seconds_p85=wait.get(85),
        lead_seconds_total=lead_total,
        process_seconds_total=process_total,
        wait_share=(lead_total - process_total) / lead_total if lead_total else None,
        complete_accurate=(counted - tally.sent_back) / counted if counted else None,
        item_keys=tuple(tally.keys),
    )


def _parts(steps: tuple[StreamStep, ...], tally: _Tally) -> dict[tuple[int, str], float] | None:
    """Each candidate part's share of the candidate steps' ``Σ LT`` (None when there is none)."""
    candidates = [i for i, step in enumerate(steps) if step.start != CREATED]
    if not candidates:
        candidates = list(range(len(steps)))
    total = sum(sum(tally.steps[i].lead) for i in candidates)
    if not total:
        return None
    parts: dict[tuple[int, str], float] = {}
    for i in candidates:
        lead, process = sum(tally.steps[i].lead), sum(tally.steps[i].process)
        parts[(i, WAIT_PART)] = (lead - process) / total
        parts[(i, PROCESS_PART)] = process / total
    return parts


def _hotspot(steps: tuple[StreamStep, ...], now: _Tally) -> tuple[int, Hotspot | None]:
    """The part with the largest share now (the earliest step, its wait first, on a tie).

    With the index of its step (-1 without a hotspot).
    """
    shares = _parts(steps, now)
    if not shares:
        return -1, None
    (index, part), share = max(shares.items(), key=lambda kv: kv[1])  # max keeps the first
    if share <= 0:
        return -1, None
    return index, Hotspot(steps[index].name, part, share, previous_share=None, change=None)


def _compared(
    steps: tuple[StreamStep, ...], hotspot: Hotspot, index: int, before: _Tally
) -> Hotspot:
    """``hotspot`` with its share in the window ``before`` (from :data:`MIN_ITEMS` items on)."""
    if len(before.steps[index].keys) < MIN_ITEMS:
        return hotspot
    earlier = _parts(steps, before)
    if earlier is None:
        return hotspot
    previous = earlier[(index, hotspot.part)]
    return replace(hotspot, previous_share=previous, change=hotspot.share - previous)
