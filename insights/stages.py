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
from datetime import UTC, date, datetime, tzinfo

import numpy as np

from insights.item_timeline import DayIndex, ItemTimeline, Reentry
from insights.metrics.flow_items import item_timelines
from insights.model import Snapshot, Stage, Transition, WorkItem
from insights.timeline_index import STAGE_CODES, as_timelines
from insights.workflow import default_stage

NOT_COLUMNS = frozenset({Stage.BLOCKED, Stage.CANCELLED})
"""Stages whose statuses are states of an item rather than places on the board."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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
        if current is not None and current > position:  # backflow wipes the later columns
            entries[position + 1 : current + 1] = [None] * (current - position)
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
        first_seen: dict[str, Stage] = {}  # by status as spelled: few statuses, many items
        for item in snapshot.items:
            if item.status not in first_seen:
                first_seen[item.status] = item.stage
        for status, stage in first_seen.items():
            known.setdefault(status.lower(), stage)
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

    ``source`` is a snapshot (its issues) or the timelines of
    :func:`insights.metrics.flow_items.item_timelines` (epics already
    left out). Cancelled items are left out.
    """
    columns = column_index(statuses)
    window = DayIndex(start, end, tz)
    edges = np.array([e.timestamp() for e in window.edges[1:]])
    timelines = as_timelines(item_timelines(source) if isinstance(source, Snapshot) else source)
    table = timelines.columns
    first = window.first.timestamp()
    counted = (table.stage != STAGE_CODES[Stage.CANCELLED]) & timelines.created_before(window.last)
    # Items unchanged since before the window sit in the column of their latest status.
    settled = counted & (table.status_since < first)
    latest = np.full(len(timelines), -1)  # each item's column at the end of the window
    column_of = [-1 if (c := columns[status]) is None else c for status in table.statuses]
    latest[settled] = np.array(column_of, dtype=np.int64)[table.last_status[settled]]
    for row in np.flatnonzero(settled & (latest < 0) & table.has_history).tolist():
        t = timelines[row]  # its last move was not into a column: look further back
        position = current_column(t.item, t.transitions, columns)
        latest[row] = -1 if position is None else position
    # The other items' arrivals: counted before the window, or by their instant inside it.
    arrived = [0] * len(statuses)
    arrivals: list[list[float]] = [[] for _ in statuses]
    window_start, window_end = window.first, window.last
    # Each item's entries do not depend on the window: worked out once per item and columns.
    memo = ("stage_timestamps", tuple(statuses), reentry)
    known: dict[int, list[datetime | None]] = timelines.memo(memo, dict)
    for row in np.flatnonzero(counted & ~settled).tolist():
        entries = known.get(row)
        if entries is None:
            t = timelines[row]
            entries = known[row] = stage_timestamps(t.item, t.transitions, columns, reentry)
        for position, entered in enumerate(entries):
            if entered is None or entered >= window_end:
                continue
            if entered < window_start:
                arrived[position] += 1
            else:
                arrivals[position].append((entered - _EPOCH).total_seconds())  # .timestamp()
            latest[row] = position
    settled_counts = np.bincount(latest[settled & (latest >= 0)], minlength=len(statuses))
    counts = {}
    before = int(settled_counts.sum())
    for position, (name, times) in enumerate(zip(statuses, arrivals, strict=True)):
        ordered = np.sort(np.array(times, dtype=float))
        found = np.searchsorted(ordered, edges, side="left") + (before + arrived[position])
        counts[name] = found.tolist()
        before -= int(settled_counts[position])
    keys = {
        name: tuple(table.keys[row] for row in np.flatnonzero(latest == position).tolist())
        for position, name in enumerate(statuses)
    }
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
