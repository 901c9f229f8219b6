"""A team's timelines with columns of their instants, so window queries skip the long history.

A large team's snapshot holds years of finished work; most metrics look at a window of weeks.
:class:`Timelines` keeps, next to the timelines, NumPy columns of their instants (POSIX seconds,
NaN where there is none) and a few per-item facts, filled in the pass that builds the timelines
(:func:`collect_timelines`), so "which items finished, started or changed in this window?" is a
vector comparison instead of a walk over every item and its history.

Instants are compared as POSIX seconds: ``datetime.timestamp()`` is the exact microsecond count
correctly rounded, and below 2**33 seconds (years 1698 to 2242) a float resolves less than a
microsecond, so two instants compare as floats exactly as they compare as datetimes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from insights.item_timeline import IN_PROGRESS, ItemTimeline
from insights.model import Stage

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
STAGE_CODES = {stage: code for code, stage in enumerate(Stage)}
"""Each stage's code in :attr:`TimelineColumns.stage`."""
_IN_PROGRESS_CODES = [STAGE_CODES[stage] for stage in IN_PROGRESS]
_CANCELLED = Stage.CANCELLED
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAN = math.nan
_HAS_HISTORY, _CHANGED_BEFORE_CREATED, _RESOLVED_BEFORE_CREATED = 1, 2, 4
T = TypeVar("T")
MEMOS_KEPT = 16
"""How many results :meth:`Timelines.memo` keeps per timelines."""


@dataclass(frozen=True)
class TimelineColumns:
    """Per timeline, in list order: its instants as POSIX seconds (NaN: none) and a few facts."""

    keys: list[str]
    started: FloatArray
    finished: FloatArray
    status_since: FloatArray
    """The last status change, or the creation (:attr:`ItemTimeline.status_since`)."""
    stage: npt.NDArray[np.int8]
    """The item's current stage, by :data:`STAGE_CODES`."""
    facts: npt.NDArray[np.int8]
    """Bits: has a history, first change dated before the creation, resolved before created."""
    last_status: IntArray
    """The current status as the history records it (the last change's, else the item's), as an
    index into :attr:`statuses`."""
    statuses: list[str]
    cancelled: dict[int, float]
    """When each cancelled timeline (by row) was cancelled."""
    created_range: tuple[datetime, datetime] | None
    """The earliest and the latest creation (None without timelines)."""
    positions: IntArray | None
    """Each timeline's position among the snapshot's items, when built from a snapshot."""

    @cached_property
    def ended(self) -> FloatArray:
        """Finished, or cancelled (:attr:`ItemTimeline.ended_at`)."""
        ended = self.finished.copy()
        for row, instant in self.cancelled.items():
            ended[row] = instant
        return ended

    @cached_property
    def in_progress(self) -> BoolArray:
        """Started and in an in-progress stage now (:attr:`ItemTimeline.in_progress`)."""
        return ~np.isnan(self.started) & np.isin(self.stage, _IN_PROGRESS_CODES)

    @property
    def has_history(self) -> BoolArray:
        """The timeline has status changes."""
        return np.bitwise_and(self.facts, _HAS_HISTORY).astype(np.bool_)

    @property
    def changed_before_created(self) -> BoolArray:
        """The first status change is dated before the creation (impossible)."""
        return np.bitwise_and(self.facts, _CHANGED_BEFORE_CREATED).astype(np.bool_)

    @property
    def resolved_before_created(self) -> BoolArray:
        """The item was resolved before it was created (impossible)."""
        return np.bitwise_and(self.facts, _RESOLVED_BEFORE_CREATED).astype(np.bool_)

    def take(self, rows: IntArray, timelines: Sequence[ItemTimeline]) -> TimelineColumns:
        """The columns of the ``timelines`` at ``rows``."""
        kept = {row: n for n, row in enumerate(rows.tolist())}
        creations = [t.item.created_at for t in timelines]
        return TimelineColumns(
            [self.keys[i] for i in kept],
            self.started[rows],
            self.finished[rows],
            self.status_since[rows],
            self.stage[rows],
            self.facts[rows],
            self.last_status[rows],
            self.statuses,
            {kept[row]: at for row, at in self.cancelled.items() if row in kept},
            (min(creations), max(creations)) if creations else None,
            None if self.positions is None else self.positions[rows],
        )


class Timelines(list[ItemTimeline]):
    """Timelines that answer window queries from their :class:`TimelineColumns`.

    :func:`insights.metrics.flow_items.item_timelines` returns one with its columns filled in while
    building; every metric accepts any iterable and wraps it with :func:`as_timelines` (whose
    columns are then computed on first use). Build it once per snapshot and pass it to every
    metric; do not modify it afterwards (the columns are kept).
    """

    @cached_property
    def columns(self) -> TimelineColumns:
        """The columns of these timelines (one pass over them on first use)."""
        return _columns(((None, t) for t in self), None)

    @cached_property
    def _created(self) -> FloatArray:
        """The creations (read on first use: most reports only need ``columns.created_range``)."""
        return np.array([seconds(t.item.created_at) for t in self], dtype=np.float64)

    def created_by(self, instant: datetime) -> BoolArray:
        """Which timelines' items were created at or before ``instant``."""
        latest = self.columns.created_range
        if latest is not None and latest[1] <= instant:
            return np.ones(len(self), dtype=np.bool_)
        return self._created <= instant.timestamp()

    def created_before(self, instant: datetime) -> BoolArray:
        """Which timelines' items were created before ``instant``."""
        latest = self.columns.created_range
        if latest is not None and latest[1] < instant:
            return np.ones(len(self), dtype=np.bool_)
        return self._created < instant.timestamp()

    def at(self, rows: Iterable[int]) -> list[ItemTimeline]:
        """The timelines at positions ``rows`` of this list, in that order."""
        return [self[i] for i in rows]

    def where(self, mask: BoolArray) -> list[ItemTimeline]:
        """The timelines whose entry of ``mask`` (over :attr:`columns`) is set, in list order."""
        return self.at(np.flatnonzero(mask).tolist())

    def subset(self, mask: BoolArray) -> Timelines:
        """The timelines selected by ``mask``, as a :class:`Timelines` with its columns."""
        rows = np.flatnonzero(mask)
        subset = Timelines(self.at(rows.tolist()))
        subset.__dict__["columns"] = self.columns.take(rows, subset)
        return subset

    @cached_property
    def _finished(self) -> tuple[FloatArray, IntArray]:
        """Rows of the finished timelines in order of finish, and their finish instants."""
        finished = self.columns.finished
        rows = np.flatnonzero(~np.isnan(finished))
        rows = rows[np.argsort(finished[rows], kind="stable")]
        return finished[rows], rows

    def finished_rows(self, start: datetime, end: datetime) -> IntArray:
        """Rows of the timelines finished in ``[start, end)``, oldest finish first."""
        stamps, rows = self._finished
        lo, hi = np.searchsorted(stamps, (start.timestamp(), end.timestamp()), side="left")
        return rows[lo:hi]

    def finished_between(self, start: datetime, end: datetime) -> list[ItemTimeline]:
        """The timelines finished in ``[start, end)``, oldest finish first."""
        return self.at(self.finished_rows(start, end).tolist())

    @cached_property
    def in_progress(self) -> list[ItemTimeline]:
        """The timelines started and neither finished nor cancelled."""
        return self.where(self.columns.in_progress)

    def started_rows(self, start: datetime, end: datetime) -> IntArray:
        """Rows of the timelines started in ``[start, end)``, in list order."""
        started = self.columns.started
        return np.flatnonzero((started >= start.timestamp()) & (started < end.timestamp()))

    def started_between(self, start: datetime, end: datetime) -> list[ItemTimeline]:
        """The timelines started in ``[start, end)``."""
        return self.at(self.started_rows(start, end).tolist())

    def live_between(self, start: datetime, end: datetime) -> list[ItemTimeline]:
        """The timelines started before ``end`` and not finished or cancelled before ``start``."""
        columns = self.columns
        return self.where(
            (columns.started < end.timestamp()) & ~(columns.ended < start.timestamp())
        )

    def changed_since(self, instant: datetime) -> list[ItemTimeline]:
        """The timelines whose last status change (or creation) is at or after ``instant``."""
        return self.where(self.columns.status_since >= instant.timestamp())

    def memo(self, key: Hashable, compute: Callable[[], T]) -> T:
        """``compute()``, worked out once per ``key`` for these timelines.

        Derived data shared by the metrics of a report, and by the reports of a snapshot whose
        timelines are kept. The last ``MEMOS_KEPT`` keys are kept.
        """
        memos: dict[Hashable, Any] = self.__dict__.setdefault("_memos", {})
        if key in memos:
            return memos[key]  # type: ignore[no-any-return]
        value = memos[key] = compute()
        for old in list(memos)[:-MEMOS_KEPT]:  # a copy: other threads may share these timelines
            memos.pop(old, None)
        return value

    def each(self, name: Hashable, rows: Iterable[int], of: Callable[[ItemTimeline], T]) -> list[T]:
        """``of(timeline)`` for the timelines at ``rows``, each worked out once (memo ``name``).

        For per-item facts that do not depend on the window (a cycle time, a flow efficiency).
        """
        known: dict[int, T] = self.memo(name, dict)
        values = []
        for row in rows:
            if row in known:
                values.append(known[row])
            else:
                value = known[row] = of(self[row])
                values.append(value)
        return values


def as_timelines(timelines: Iterable[ItemTimeline]) -> Timelines:
    """``timelines`` as a :class:`Timelines` (itself when it already is one)."""
    return timelines if isinstance(timelines, Timelines) else Timelines(timelines)


def seconds(at: datetime) -> float:
    """``at.timestamp()``, about twice as fast for the UTC instants of a snapshot."""
    return (at - _EPOCH).total_seconds()


def collect_timelines(timelines: Iterable[tuple[int, ItemTimeline]]) -> Timelines:
    """The timelines, each given with its position among the snapshot's items, and their columns.

    One pass: each timeline's instants are read while it is fresh in memory.
    """
    result = Timelines()
    result.__dict__["columns"] = _columns(timelines, result)
    return result


def _columns(
    timelines: Iterable[tuple[int | None, ItemTimeline]], kept: list[ItemTimeline] | None
) -> TimelineColumns:
    """The columns of ``timelines`` (their positions all given or all None).

    Each timeline is appended to ``kept`` when given, so a list is built in the same pass.
    """
    keys: list[str] = []
    positions: list[int] = []
    instants: list[float] = []  # started, finished, status since: three per timeline
    codes: list[int] = []  # stage, facts, last status: three per timeline
    status_codes: dict[str, int] = {}
    cancelled: dict[int, float] = {}
    earliest = latest = None
    stage_codes, epoch, nan = STAGE_CODES, _EPOCH, _NAN
    for position, t in timelines:
        item, transitions = t.item, t.transitions
        created_at, stage = item.created_at, item.stage
        if earliest is None or created_at < earliest:
            earliest = created_at
        if latest is None or created_at > latest:
            latest = created_at
        if transitions:
            last = transitions[-1]
            since_at, status = last.at, last.to_status
            facts = _HAS_HISTORY
            if transitions[0].at < created_at:
                facts |= _CHANGED_BEFORE_CREATED
        else:
            since_at, status, facts = created_at, item.status, 0
        resolved_at = item.resolved_at
        if resolved_at is not None and resolved_at < created_at:
            facts |= _RESOLVED_BEFORE_CREATED
        # (at - epoch).total_seconds() is at.timestamp(), in half the time
        since = (since_at - epoch).total_seconds()
        started_at, finished_at = t.started_at, t.finished_at
        if finished_at is not None:
            finished = since if finished_at is since_at else (finished_at - epoch).total_seconds()
        else:
            finished = nan
            cancelled_at = t.cancelled_at if stage is _CANCELLED else None
            if cancelled_at is not None:
                cancelled[len(keys)] = (cancelled_at - epoch).total_seconds()
        started = nan if started_at is None else (started_at - epoch).total_seconds()
        instants += (started, finished, since)
        code = status_codes.get(status)
        if code is None:
            code = status_codes[status] = len(status_codes)
        codes += (stage_codes[stage], facts, code)
        keys.append(item.key)
        if position is not None:
            positions.append(position)
        if kept is not None:
            kept.append(t)
    table = np.array(instants, dtype=np.float64).reshape(-1, 3)
    small = np.array(codes, dtype=np.int64).reshape(-1, 3)
    return TimelineColumns(
        keys=keys,
        started=table[:, 0].copy(),
        finished=table[:, 1].copy(),
        status_since=table[:, 2].copy(),
        stage=small[:, 0].astype(np.int8),
        facts=small[:, 1].astype(np.int8),
        last_status=small[:, 2].copy(),
        statuses=list(status_codes),
        cancelled=cancelled,
        created_range=None if earliest is None or latest is None else (earliest, latest),
        positions=np.array(positions, dtype=np.int64) if len(positions) == len(keys) else None,
    )
