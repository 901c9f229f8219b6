"""Per-status entry instants on the team's board, and the cumulative flow diagram built on them.

METRICS.md section 3.1: a team's board is its workflow statuses in order (the *columns*). For one
item, walking its status changes in time order:

1. the initial status (the ``from`` of the first change, or the current status) is entered at
   ``created_at``;
2. each change into a column enters it (JAM keeps the **first** entry, ``reentry="last"`` keeps the
   last one, ActionableAgile's reading) and **wipes every later column** (backflow: an item moved
   back from C to B was never in C);
3. statuses that are not columns are ignored (they neither enter nor wipe anything);
4. after the walk, a skipped column is **back-filled** from the next later entered one.

The cumulative flow diagram (METRICS.md 3.6) counts, per day and column, the items whose entry into
that column or a later one happened on or before that day (band height = ``counts[s] -
counts[s+1]``). Because entries are re-derived from the current history, the diagram rewrites
history after a backflow, as JAM and ActionableAgile do. Cancelled items leave the diagram.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo

import numpy as np

from insights.flow import item_timelines
from insights.model import Snapshot, Stage, Transition, WorkItem
from insights.timeline import DayIndex, ItemTimeline, Reentry
from insights.workflow import default_stage

NOT_COLUMNS = frozenset({Stage.BLOCKED, Stage.CANCELLED})
"""Stages whose statuses are states of an item rather than places on the board."""
_CANCELLED = Stage.CANCELLED


class ColumnIndex(dict[str, int | None]):
    """Position of a status among the columns, matched case-insensitively (None: not a column).

    Lookups are memoised per spelling, so a status is lower-cased once, not once per transition.
    """

    def __init__(self, columns: Sequence[str]) -> None:
        super().__init__()
        self.size = len(columns)
        self._lower: dict[str, int] = {}
        for position, name in enumerate(columns):
            key = name.lower()
            if key in self._lower:
                raise ValueError(f"status {name!r} appears twice in the workflow columns {columns}")
            self._lower[key] = position

    def __missing__(self, status: str) -> int | None:
        position = self._lower.get(status.lower())
        self[status] = position
        return position


def column_index(columns: Sequence[str]) -> ColumnIndex:
    """The :class:`ColumnIndex` of the workflow ``columns`` (board statuses in order)."""
    return ColumnIndex(columns)


def stage_timestamps(
    item: WorkItem,
    transitions: Sequence[Transition],
    columns: ColumnIndex,
    reentry: Reentry = "first",
) -> list[datetime | None]:
    """Entry instant of each column (by position in ``columns``), wiped and back-filled.

    ``transitions`` must be sorted by time; ``columns`` comes from :func:`column_index`.
    """
    if reentry not in ("first", "last"):
        raise ValueError(f"reentry must be 'first' or 'last', got {reentry!r}")
    entries: list[datetime | None] = [None] * columns.size
    initial = transitions[0].from_status if transitions else item.status
    current = columns[initial] if initial else None
    if current is not None:
        entries[current] = item.created_at
    keep_last = reentry == "last"
    for transition in transitions:
        position = columns[transition.to_status]
        if position is None or position == current:
            continue
        if keep_last or entries[position] is None:
            entries[position] = transition.at
        for later in range(position + 1, -1 if current is None else current + 1):
            entries[later] = None
        current = position
    following = None
    for position in range(len(entries) - 1, -1, -1):
        if entries[position] is None:
            entries[position] = following
        else:
            following = entries[position]
    return entries


def board_columns(snapshot: Snapshot, stage_of: Mapping[str, Stage] | None = None) -> list[str]:
    """The snapshot's workflow statuses that are board columns (not blocked, not cancelled).

    A status's stage comes from ``stage_of`` (the team's workflow) when given, else from the
    items now in that status, else from its name (:func:`insights.workflow.default_stage`).
    """
    known = {name.lower(): stage for name, stage in (stage_of or {}).items()}
    if stage_of is None:
        for item in snapshot.items:
            known.setdefault(item.status.lower(), item.stage)
    return [
        s for s in snapshot.statuses if known.get(s.lower(), default_stage(s)) not in NOT_COLUMNS
    ]


@dataclass(frozen=True)
class CumulativeFlow:
    """Cumulative arrivals per column and day: ``counts[s][k]`` items in ``s`` or later by day k."""

    days: list[date]
    statuses: list[str]
    counts: dict[str, list[int]]
    item_keys: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Per column, the items in it (and no later column) at the end of the last day."""

    def band(self, status: str) -> list[int]:
        """Items in ``status`` (and not a later column) at the end of each day."""
        position = self.statuses.index(status)
        own = self.counts[status]
        if position + 1 == len(self.statuses):
            return list(own)
        after = self.counts[self.statuses[position + 1]]
        return [a - b for a, b in zip(own, after, strict=True)]


def cumulative_flow(
    source: Snapshot | Iterable[ItemTimeline],
    statuses: Sequence[str],
    start: date,
    end: date,
    tz: tzinfo,
    reentry: Reentry = "first",
) -> CumulativeFlow:
    """The cumulative flow diagram of ``[start, end)`` over the columns ``statuses`` in order.

    ``source`` is a snapshot (its issues) or the timelines of :func:`insights.flow.item_timelines`
    (epics already left out). Cancelled items are left out.
    """
    columns = column_index(statuses)
    window = DayIndex(start, end, tz)
    edges = np.array([e.timestamp() for e in window.edges[1:]])
    arrivals: list[list[float]] = [[] for _ in statuses]
    settled = [0] * len(statuses)  # items unchanged since before the window, by their column
    last_day_keys: list[list[str]] = [[] for _ in statuses]
    first, last = window.first, window.last
    timelines = item_timelines(source) if isinstance(source, Snapshot) else source
    for t in timelines:
        item, transitions = t.item, t.transitions
        if item.stage is _CANCELLED or item.created_at >= last:
            continue
        if (transitions[-1].at if transitions else item.created_at) < first:
            latest = current_column(item, transitions, columns)
            if latest is not None:
                settled[latest] += 1
                last_day_keys[latest].append(item.key)
            continue
        latest = None
        for position, entered in enumerate(stage_timestamps(item, transitions, columns, reentry)):
            if entered is not None and entered < last:
                arrivals[position].append(entered.timestamp())
                latest = position
        if latest is not None:
            last_day_keys[latest].append(item.key)
    counts = {}
    before = sum(settled)
    for position, (name, times) in enumerate(zip(statuses, arrivals, strict=True)):
        ordered = np.sort(np.array(times, dtype=float))
        counts[name] = (np.searchsorted(ordered, edges, side="left") + before).tolist()
        before -= settled[position]
    keys = {name: tuple(k) for name, k in zip(statuses, last_day_keys, strict=True)}
    return CumulativeFlow(window.days, list(statuses), counts, keys)


def current_column(
    item: WorkItem, transitions: Sequence[Transition], columns: ColumnIndex
) -> int | None:
    """The column an item is in now: the last column status it entered (None if it never did)."""
    for transition in reversed(transitions):
        position = columns[transition.to_status]
        if position is not None:
            return position
    initial = transitions[0].from_status if transitions else item.status
    return columns[initial] if initial else None
