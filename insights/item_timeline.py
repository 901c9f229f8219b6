"""Per-item timestamps derived from an item's history, and the team calendar they are counted in.

The rules are those of METRICS.md section 3.1 applied to the flow states of section 1.1, whose
levels are backlog < in progress (waiting, active, blocked) < done:

- the item enters its initial level at ``created_at`` (the ``from`` of its first transition, or
  its current stage when it never moved);
- each change of level enters the new level (JAM keeps the *first* entry; ``reentry="last"`` keeps
  the last, for ActionableAgile parity) and **wipes** every later level (backflow: an item moved
  back to the backlog was never started, a reopened item was never done);
- a skipped level is back-filled from the next later one (backlog -> done starts and finishes at
  once, a zero cycle time).

``started_at`` is the entry into in progress, ``finished_at`` the entry into done, defined only
while the item is done; ``cancelled_at`` is the last entry into cancelled, only while cancelled.
Cancelled transitions do not change levels. Moving back between in-progress statuses does not
restart work: the board-level rule of :mod:`insights.stages` would, for a move back into a column
skipped on the way in (the one history where the two differ). A done item without any history (a
source that knows none) is taken as started at creation and finished at its resolution.

Calendar helpers turn instants into the team's local days and Monday weeks (METRICS.md 0.2-0.3),
and span helpers measure time inside intervals.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from itertools import pairwise
from operator import attrgetter
from typing import Literal

from insights.model import FlagChange, Stage, Transition, WorkItem

Reentry = Literal["first", "last"]
Stay = tuple[str, Stage | None, datetime, datetime | None]
"""``(status, stage, entered, left)``: a stay in one status; ``left`` is None for the current one.
The stage is None for an initial status of unknown stage."""
Span = tuple[datetime, datetime]

_DONE = Stage.DONE
_BLOCKED = Stage.BLOCKED
_CANCELLED = Stage.CANCELLED
IN_PROGRESS = frozenset({Stage.WAITING, Stage.ACTIVE, Stage.BLOCKED})
"""The stages between start and finish (a set: faster than ``Stage.in_progress``)."""
FINISHED = frozenset({Stage.DONE, Stage.CANCELLED})
_LEVEL = {
    Stage.BACKLOG: 0,
    Stage.WAITING: 1,
    Stage.ACTIVE: 1,
    Stage.BLOCKED: 1,
    Stage.DONE: 2,
}
_SAME_LEVEL = {
    level: frozenset({s for s, lv in _LEVEL.items() if lv == level} | {Stage.CANCELLED})
    for level in (-1, 0, 1, 2)
}
"""Per level, the stages whose entry does not change it (-1: an initial stage unknown)."""
_AT = attrgetter("at")


@dataclass(slots=True)
class ItemTimeline:
    """A work item with the instants the metrics need, and the time-ordered history behind them.

    Read-only by convention (not frozen: a frozen dataclass costs five times as much to build,
    and a team report builds one per item).
    """

    item: WorkItem
    started_at: datetime | None
    finished_at: datetime | None
    transitions: Sequence[Transition] = ()
    """The item's status changes, oldest first."""
    flags: Sequence[FlagChange] = ()
    """The item's impediment flag changes, oldest first."""
    _ever_blocked: bool | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def ever_blocked(self) -> bool:
        """Whether the item was ever in a blocked stage (worked out once, then kept)."""
        if self._ever_blocked is None:
            transitions = self.transitions
            if not transitions:
                self._ever_blocked = self.item.stage is _BLOCKED
            else:
                self._ever_blocked = transitions[0].from_stage is _BLOCKED or any(
                    transition.to_stage is _BLOCKED for transition in transitions
                )
        return self._ever_blocked

    @property
    def status_since(self) -> datetime:
        """When the item entered its current status."""
        return self.transitions[-1].at if self.transitions else self.item.created_at

    @property
    def flagged_since(self) -> datetime | None:
        """When the impediment flag currently set was set (None if not flagged now)."""
        since = None
        for flag in self.flags:
            since = (since or flag.at) if flag.flagged else None
        return since

    @property
    def cancelled_at(self) -> datetime | None:
        """Last entry into a cancelled stage, while the item is cancelled."""
        item = self.item
        if item.stage is not _CANCELLED:
            return None
        for transition in reversed(self.transitions):
            if transition.to_stage is _CANCELLED:
                return transition.at
        return item.resolved_at or item.updated_at

    @property
    def stage(self) -> Stage:
        """The item's current flow state."""
        return self.item.stage

    @property
    def in_progress(self) -> bool:
        """Started and not finished or cancelled."""
        return self.started_at is not None and self.item.stage in IN_PROGRESS

    @property
    def ended_at(self) -> datetime | None:
        """When the item left work in progress for good: finished or cancelled."""
        if self.finished_at is not None:
            return self.finished_at
        return self.cancelled_at if self.item.stage is _CANCELLED else None

    @property
    def blocked_since(self) -> datetime | None:
        """When the current block began: the flag, or entering a blocked stage."""
        stage_block = self.status_since if self.item.stage is _BLOCKED else None
        candidates = [t for t in (self.flagged_since, stage_block) if t is not None]
        return min(candidates) if candidates else None

    def cycle_time_seconds(self) -> float | None:
        """Finish minus start in seconds; None when unfinished or negative (METRICS.md 0.5)."""
        if self.started_at is None or self.finished_at is None:
            return None
        seconds = (self.finished_at - self.started_at).total_seconds()
        return seconds if seconds >= 0 else None

    def lead_time_seconds(self) -> float | None:
        """Finish minus creation in seconds (request to done); None when unfinished or negative."""
        if self.finished_at is None:
            return None
        seconds = (self.finished_at - self.item.created_at).total_seconds()
        return seconds if seconds >= 0 else None

    def age_seconds(self, now: datetime) -> float | None:
        """Elapsed time since start for an item in progress."""
        if not self.in_progress or self.started_at is None:
            return None
        return max(0.0, (now - self.started_at).total_seconds())

    def stays(self, since: datetime | None = None) -> Iterator[Stay]:
        """The item's stays in each status, oldest first; with ``since``, only those after it."""
        transitions = self.transitions
        item = self.item
        if not transitions:
            yield item.status, item.stage, item.created_at, None
            return
        first = 0 if since is None else bisect_right(transitions, since, key=_AT)
        if first == 0:
            head = transitions[0]
            yield head.from_status or item.status, head.from_stage, item.created_at, head.at
        else:
            before = transitions[first - 1]
            after = transitions[first].at if first < len(transitions) else None
            yield before.to_status, before.to_stage, before.at, after
        for current, following in pairwise(transitions[first:]):
            yield current.to_status, current.to_stage, current.at, following.at
        if first < len(transitions):
            last = transitions[-1]
            yield last.to_status, last.to_stage, last.at, None

    def flag_spans(self) -> list[tuple[datetime, datetime | None]]:
        """Impediment intervals ``(set, cleared)``; ``cleared`` is None while still flagged."""
        spans: list[tuple[datetime, datetime | None]] = []
        since: datetime | None = None
        for flag in self.flags:
            if flag.flagged and since is None:
                since = flag.at
            elif not flag.flagged and since is not None:
                spans.append((since, flag.at))
                since = None
        if since is not None:
            spans.append((since, None))
        return spans

    def stage_spans(self, stages: frozenset[Stage]) -> list[tuple[datetime, datetime | None]]:
        """The item's stays in any of ``stages``, oldest first (None end: it is there now)."""
        return [(entered, left) for _, stage, entered, left in self.stays() if stage in stages]


def build_timeline(
    item: WorkItem,
    transitions: Sequence[Transition],
    flags: Sequence[FlagChange] = (),
    reentry: Reentry = "first",
) -> ItemTimeline:
    """Derive the timeline of one item from its transitions and flag changes (any order)."""
    return timeline_of(item, sorted(transitions, key=_AT), sorted(flags, key=_AT), reentry)


def timeline_of(
    item: WorkItem,
    transitions: Sequence[Transition],
    flags: Sequence[FlagChange] = (),
    reentry: Reentry = "first",
) -> ItemTimeline:
    """Like :func:`build_timeline` for events already sorted by time (a Snapshot's are)."""
    if reentry != "first" and reentry != "last":
        raise ValueError(f"reentry must be 'first' or 'last', got {reentry!r}")
    stage = item.stage
    created = item.created_at
    initial = transitions[0].from_stage if transitions else stage
    level = _LEVEL.get(initial, -1) if initial is not None else -1
    entered = created if level == 1 else None
    done = created if level == 2 else None
    keep_last = reentry == "last"
    same = _SAME_LEVEL[level]
    for transition in transitions:
        if transition.to_stage in same:  # no change of level (cancelled never changes it)
            continue
        level = _LEVEL[transition.to_stage]
        same = _SAME_LEVEL[level]
        if level == 1:
            if entered is None or keep_last:
                entered = transition.at
            done = None
        elif level == 2:
            if done is None or keep_last:
                done = transition.at
        else:
            entered = done = None
    started_at = entered or done
    finished_at = None
    if stage is _DONE:
        if done is None or not transitions:
            finished_at = item.resolved_at or item.updated_at
            started_at = started_at if transitions and started_at else created
        else:
            finished_at = done
    return ItemTimeline(item, started_at, finished_at, transitions, flags)


# --- Calendar ------------------------------------------------------------------------------------


def local_date(at: datetime, tz: tzinfo) -> date:
    """The calendar day of instant ``at`` in time zone ``tz``."""
    return at.astimezone(tz).date()


def day_start(day: date, tz: tzinfo) -> datetime:
    """The UTC instant at which ``day`` begins in time zone ``tz``."""
    return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)


def week_start(day: date) -> date:
    """The Monday of the ISO week containing ``day``."""
    return day - timedelta(days=day.weekday())


def days_between(start: date, end: date) -> list[date]:
    """Every day of ``[start, end)``."""
    return [start + timedelta(days=n) for n in range((end - start).days)]


class DayIndex:
    """The local days of ``[start, end)`` in one time zone, and where each begins and ends."""

    def __init__(self, start: date, end: date, tz: tzinfo) -> None:
        if end < start:
            raise ValueError(f"end ({end}) must not be before start ({start})")
        self.days = days_between(start, end)
        self.edges = [day_start(d, tz) for d in [*self.days, end]]
        """``edges[k]`` is where ``days[k]`` begins, ``edges[k + 1]`` where it ends."""

    @property
    def first(self) -> datetime:
        """The instant the window begins."""
        return self.edges[0]

    @property
    def last(self) -> datetime:
        """The instant the window ends (exclusive)."""
        return self.edges[-1]

    def index(self, at: datetime) -> int | None:
        """The index of the day containing ``at``, or None outside the window."""
        if at < self.edges[0] or at >= self.edges[-1]:
            return None
        return bisect_right(self.edges, at) - 1

    def first_day_ending_after(self, at: datetime) -> int:
        """The index of the first day whose end is strictly after ``at`` (``len(days)`` if none).

        Something present from ``at`` on is present at the end of this day and every later one.
        """
        return bisect_right(self.edges, at, 1) - 1

    def present(self, since: datetime, until: datetime | None) -> range:
        """Indexes of the days at whose end something present on ``[since, until)`` is there."""
        stop = len(self.days) if until is None else self.first_day_ending_after(until)
        return range(self.first_day_ending_after(since), stop)


DayRun = tuple[int, int, str, Stage | None]
"""``(first, stop, status, stage)``: an item's state at the end of days ``first..stop - 1``."""


def day_end_states(timeline: ItemTimeline, window: DayIndex, days: range) -> list[DayRun]:
    """The item's status and stage at the end of each day of ``days``, as runs of days.

    A change at the very instant a day ends belongs to the next day. Only the changes inside
    ``days`` are read, so an item that sat still for the whole window costs one run.
    """
    if not days:
        return []
    transitions = timeline.transitions
    edges = window.edges
    i = bisect_left(transitions, edges[days.start + 1], key=_AT)
    if i == 0:
        status = (transitions[0].from_status if transitions else None) or timeline.item.status
        stage = transitions[0].from_stage if transitions else timeline.item.stage
    else:
        status, stage = transitions[i - 1].to_status, transitions[i - 1].to_stage
    runs = []
    first, stop, end = days.start, days.stop, edges[days.stop]
    boundary = edges[first + 1]  # the end of the day the next change is checked against
    for index in range(i, len(transitions)):
        transition = transitions[index]
        at = transition.at
        if at >= boundary:  # the change belongs to a later day
            if at >= end:
                break
            day = bisect_right(edges, at, first + 1) - 1  # the first day ending after it
            runs.append((first, day, status, stage))
            first, boundary = day, edges[day + 1]
        status, stage = transition.to_status, transition.to_stage
    runs.append((first, stop, status, stage))
    return runs


# --- Spans ---------------------------------------------------------------------------------------


def clip(
    spans: Sequence[tuple[datetime, datetime | None]], lo: datetime, hi: datetime
) -> list[Span]:
    """The parts of ``spans`` inside ``[lo, hi]``; an open end (None) runs to ``hi``."""
    out = []
    for start, end in spans:
        a, b = max(start, lo), min(end or hi, hi)
        if a < b:
            out.append((a, b))
    return out


def total_seconds(spans: Sequence[Span]) -> float:
    """The summed length of ``spans`` in seconds (overlaps counted twice)."""
    return sum((b - a).total_seconds() for a, b in spans)


def union_seconds(spans: Sequence[Span]) -> float:
    """The length of the union of ``spans`` in seconds."""
    total = 0.0
    reach: datetime | None = None
    for a, b in sorted(spans):
        if reach is None or a > reach:
            total += (b - a).total_seconds()
            reach = b
        elif b > reach:
            total += (b - reach).total_seconds()
            reach = b
    return total


def overlap_seconds(xs: Sequence[Span], ys: Sequence[Span]) -> float:
    """The length of the intersection of two sorted lists of disjoint spans, in seconds."""
    total, i, j = 0.0, 0, 0
    while i < len(xs) and j < len(ys):
        a, b = max(xs[i][0], ys[j][0]), min(xs[i][1], ys[j][1])
        if a < b:
            total += (b - a).total_seconds()
        if xs[i][1] < ys[j][1]:
            i += 1
        else:
            j += 1
    return total
