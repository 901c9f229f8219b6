"""Flow metrics over item timelines: METRICS.md sections 1 (Flow Framework) and 3 (Kanban).

Every function is pure: ``now``, the window and the team's time zone are parameters. Windows of
instants are half-open ``[start, end)``; windows of days are ``[start, end)`` too (pass
``end = last day + 1``). Durations are exact seconds; calendar days follow ActionableAgile
(``date(end) - date(start) + 1``, "AA") unless a field says ``jam`` (no +1). Every aggregate keeps
the keys of the items behind it, so the bot can answer "which items?".

Flow items are the snapshot's issues except epics and sub-tasks (METRICS.md 1.1: never count a
parent and its children; the default level is stories, bugs and tasks).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from operator import attrgetter
from typing import Literal

import numpy as np
import numpy.typing as npt

from insights.model import FlowType, ItemKind, Snapshot, Stage, WorkItem
from insights.percentiles import cycle_time_percentiles, median
from insights.timeline import (
    FINISHED,
    IN_PROGRESS,
    DayIndex,
    ItemTimeline,
    Reentry,
    Span,
    clip,
    day_end_states,
    local_date,
    overlap_seconds,
    timeline_of,
    total_seconds,
    union_seconds,
    week_start,
)
from insights.timelines import Timelines, as_timelines, collect_timelines

Period = Literal["day", "week"]
EXCLUDED_TYPES = frozenset({"epic", "sub-task", "subtask"})
"""Issue types that are not flow items by default (parents and children of the item level)."""
_DEFECT_TYPES = frozenset({"bug", "defect", "incident", "problem"})
_RISK_TYPES = frozenset({"vulnerability", "security", "compliance"})
_RISK_LABELS = frozenset({"security", "compliance", "risk"})
_DEBT_NAMES = frozenset({"tech-debt", "debt", "refactor", "chore", "maintenance"})
_FEATURE_TYPES = frozenset({"story", "feature", "epic", "requirement", "improvement", "task"})
_SUBTASK_TYPES = frozenset({"sub-task", "subtask"})
_ISSUE = ItemKind.ISSUE
_ACTIVE = Stage.ACTIVE
_BLOCKED = frozenset({Stage.BLOCKED})
_AT = attrgetter("at")


# --- Which items flow, and of which type ----------------------------------------------------------


def flow_items(
    snapshot: Snapshot, exclude_types: Collection[str] = EXCLUDED_TYPES
) -> list[WorkItem]:
    """The snapshot's issues that are flow items (types in ``exclude_types`` left out)."""
    return [item for _, item in _flow_items(snapshot, exclude_types)]


def _flow_items(
    snapshot: Snapshot, exclude_types: Collection[str]
) -> Iterator[tuple[int, WorkItem]]:
    """The flow items with their positions among the snapshot's items."""
    excluded = {t.lower() for t in exclude_types}
    flows: dict[str, bool] = {}  # by issue type: a snapshot has few, and many items
    for position, item in enumerate(snapshot.items):
        if item.kind is _ISSUE:
            kind = item.type
            flowing = flows.get(kind)
            if flowing is None:
                flowing = flows[kind] = kind.lower() not in excluded
            if flowing:
                yield position, item


def item_timelines(
    snapshot: Snapshot,
    reentry: Reentry = "first",
    exclude_types: Collection[str] = EXCLUDED_TYPES,
) -> Timelines:
    """The timeline of every flow item of ``snapshot`` (issues; no epics, no sub-tasks).

    Pass the result to every metric: its columns are shared. The timelines of the last
    ``TIMELINES_KEPT`` snapshots asked for are kept (a snapshot is immutable), so the reports,
    digests and charts of a snapshot the bot keeps build them once.
    """
    key = (id(snapshot), reentry, frozenset(t.lower() for t in exclude_types))
    kept = _timelines_kept.get(key)
    if kept is not None and kept[0] is snapshot:
        return kept[1]
    transitions, flags, none = snapshot.transitions, snapshot.flags, ()
    timelines = collect_timelines(
        (
            position,
            timeline_of(item, transitions.get(item.id, none), flags.get(item.id, none), reentry),
        )
        for position, item in _flow_items(snapshot, exclude_types)
    )
    _keep(key, snapshot, timelines)
    return timelines


TIMELINES_KEPT = 2
"""How many snapshots' timelines :func:`item_timelines` keeps (each keeps its snapshot alive)."""
_TimelinesKey = tuple[int, str, frozenset[str]]
_timelines_kept: dict[_TimelinesKey, tuple[Snapshot, Timelines]] = {}


def _keep(key: _TimelinesKey, snapshot: Snapshot, timelines: Timelines) -> None:
    """Remember ``timelines``, forgetting the oldest (replaced whole: safe across threads)."""
    global _timelines_kept
    entries = list(_timelines_kept.items())[-(TIMELINES_KEPT - 1) :] if TIMELINES_KEPT > 1 else []
    _timelines_kept = {**dict(entries), key: (snapshot, timelines)}


def flow_type(item: WorkItem, parent: WorkItem | None = None) -> FlowType | None:
    """The Flow Framework type of ``item`` (METRICS.md 1.1), or None for a supporting artifact.

    In order: a Bug/Defect/Incident/Problem type is a defect; a Vulnerability/Security/Compliance
    type or a ``security``/``compliance``/``risk`` label is a risk; a ``tech-debt``/``debt``/
    ``refactor``/``chore``/``maintenance`` label or type is debt; a Story/Feature/Epic/Requirement/
    Improvement/Task type is a feature (Task is our addition: METRICS.md leaves it out although
    tasks are flow items); a sub-task takes its ``parent``'s type.
    """
    kind = item.type.lower()
    labels = {label.lower() for label in item.labels}
    if kind in _DEFECT_TYPES:
        return FlowType.DEFECT
    if kind in _RISK_TYPES or labels & _RISK_LABELS:
        return FlowType.RISK
    if kind in _DEBT_NAMES or labels & _DEBT_NAMES:
        return FlowType.DEBT
    if kind in _FEATURE_TYPES:
        return FlowType.FEATURE
    if kind in _SUBTASK_TYPES and parent is not None and parent.type.lower() not in _SUBTASK_TYPES:
        return flow_type(parent)
    return None


class FlowTypes:
    """The flow type of items, sub-tasks resolved through their parent among ``items``.

    Types are computed on first use and memoised by (type, labels), so asking for every item of a
    large snapshot stays cheap.
    """

    def __init__(self, items: Iterable[WorkItem]) -> None:
        self._items = items
        self._by_key: dict[str, WorkItem] | None = None
        self._memo: dict[tuple[str, tuple[str, ...]], FlowType | None] = {}

    def __call__(self, item: WorkItem) -> FlowType | None:
        """The flow type of ``item``."""
        if item.parent_key and item.type.lower() in _SUBTASK_TYPES:
            if self._by_key is None:
                self._by_key = {i.key: i for i in self._items}
            return flow_type(item, self._by_key.get(item.parent_key))
        signature = (item.type, item.labels)
        if signature not in self._memo:
            self._memo[signature] = flow_type(item)
        return self._memo[signature]


def flow_types(items: Iterable[WorkItem]) -> dict[str, FlowType | None]:
    """The flow type of each item by id, sub-tasks resolved through their parent among ``items``."""
    pool = list(items)
    type_of = FlowTypes(pool)
    return {item.id: type_of(item) for item in pool}


# --- Cycle time, lead time, SLE -------------------------------------------------------------------


def calendar_days(start: datetime, end: datetime, tz: tzinfo, inclusive: bool = True) -> int:
    """Calendar days from ``start`` to ``end`` in ``tz``: AA counts both ends (+1), JAM does not."""
    days = (local_date(end, tz) - local_date(start, tz)).days
    return days + 1 if inclusive else days


@dataclass(slots=True)
class ScatterPoint:
    """One finished item on the cycle-time scatter."""

    key: str
    title: str
    finished_at: datetime
    cycle_time_seconds: float
    cycle_time_days: int
    """ActionableAgile calendar days (same-day work is 1 day)."""
    url: str | None

    @property
    def cycle_time_days_jam(self) -> int:
        """jira-agile-metrics calendar days (same-day work is 0 days)."""
        return self.cycle_time_days - 1


def finished_between(
    timelines: Iterable[ItemTimeline], start: datetime, end: datetime
) -> list[tuple[ItemTimeline, datetime, datetime]]:
    """``(timeline, started_at, finished_at)`` of the items finished in ``[start, end)``.

    Oldest finish first; items with a negative cycle time are left out (METRICS.md 0.5).
    """
    out = []
    for t in as_timelines(timelines).finished_between(start, end):
        started, finished = t.started_at, t.finished_at
        if started is not None and finished is not None and started <= finished:
            out.append((t, started, finished))
    return out


def cycle_time_points(
    timelines: Iterable[ItemTimeline], start: datetime, end: datetime, tz: tzinfo = UTC
) -> list[ScatterPoint]:
    """Every item finished in ``[start, end)``, oldest finish first (AA days counted in ``tz``)."""
    return [
        ScatterPoint(
            t.item.key,
            t.item.title,
            finished,
            (finished - started).total_seconds(),
            (finished.astimezone(tz).date() - started.astimezone(tz).date()).days + 1,
            t.item.url,
        )
        for t, started, finished in finished_between(timelines, start, end)
    ]


@dataclass(frozen=True)
class DurationSummary:
    """A duration over the items finished in a window."""

    count: int
    mean_seconds: float | None
    percentiles_seconds: dict[int, float] | None
    """50/70/85/95 by nearest rank; None with fewer than 5 items (METRICS.md 3.7)."""
    item_keys: tuple[str, ...]


def _summary(pairs: list[tuple[str, float]]) -> DurationSummary:
    values = [v for _, v in pairs]
    return DurationSummary(
        count=len(values),
        mean_seconds=sum(values) / len(values) if values else None,
        percentiles_seconds=cycle_time_percentiles(values),
        item_keys=tuple(k for k, _ in pairs),
    )


def cycle_time_summary(
    timelines: Iterable[ItemTimeline], start: datetime, end: datetime
) -> DurationSummary:
    """Cycle time (start to finish) of the items finished in ``[start, end)``."""
    indexed = as_timelines(timelines)
    rows = indexed.finished_rows(start, end).tolist()
    keys = indexed.columns.keys
    return _summary(
        [
            (keys[row], seconds)
            for row, seconds in zip(rows, cycle_seconds(indexed, rows), strict=True)
            if seconds is not None
        ]
    )


def cycle_seconds(timelines: Timelines, rows: Iterable[int]) -> list[float | None]:
    """:meth:`ItemTimeline.cycle_time_seconds` of the timelines at ``rows`` (each computed once)."""
    return timelines.each("cycle_seconds", rows, ItemTimeline.cycle_time_seconds)


def lead_time_summary(
    timelines: Iterable[ItemTimeline], start: datetime, end: datetime
) -> DurationSummary:
    """Lead time (created to finished, never mixed with cycle time) of items finished in window."""
    indexed = as_timelines(timelines)
    rows = indexed.finished_rows(start, end).tolist()
    keys = indexed.columns.keys
    lead = indexed.each("lead_seconds", rows, ItemTimeline.lead_time_seconds)
    return _summary(
        [
            (keys[row], seconds)
            for row, seconds in zip(rows, lead, strict=True)
            if seconds is not None
        ]
    )


def issue_lead_time_minutes(timeline: ItemTimeline) -> int | None:
    """DevLake's issue lead time: whole minutes from creation to finish, floored; None if none."""
    seconds = timeline.lead_time_seconds()
    return None if seconds is None else int(seconds // 60)


@dataclass(frozen=True)
class ServiceLevelExpectation:
    """A share (``probability``) of items finishes within ``days`` calendar days (AA)."""

    days: float
    probability: float
    basis_count: int
    """Finished items the SLE was computed from (0 for a fixed SLE)."""
    fixed: bool
    item_keys: tuple[str, ...]


def service_level_expectation(
    timelines: Iterable[ItemTimeline],
    now: datetime,
    tz: tzinfo,
    history_days: int = 90,
    fixed_days: float | None = None,
) -> ServiceLevelExpectation | None:
    """The SLE of METRICS.md 3.8: p85 (nearest rank) of AA cycle-time days over the history.

    ``fixed_days`` (the team's agreement) overrides it. None with fewer than 5 finished items.
    """
    if fixed_days is not None:
        return ServiceLevelExpectation(fixed_days, 0.85, 0, True, ())
    keys, days = cycle_days(timelines, now - timedelta(days=history_days), now, tz)
    lines = cycle_time_percentiles([float(d) for d in days])
    if lines is None:
        return None
    return ServiceLevelExpectation(lines[85], 0.85, len(keys), False, tuple(keys))


def cycle_days(
    timelines: Iterable[ItemTimeline], start: datetime, end: datetime, tz: tzinfo
) -> tuple[list[str], list[int]]:
    """Keys and AA calendar-day cycle times of the items finished in ``[start, end)``.

    The same items, order and days as :func:`cycle_time_points`, without building the points;
    each item's days are worked out once per time zone (the SLE, its compliance and the aging
    detector share them).
    """
    indexed = as_timelines(timelines)
    known: dict[int, int] = indexed.memo(("cycle_days", tz), dict)
    keys, days = [], []
    for row in indexed.finished_rows(start, end).tolist():
        count = known.get(row)
        if count is None:
            t = indexed[row]
            started, finished = t.started_at, t.finished_at
            if started is None or finished is None or finished < started:
                count = known[row] = -1  # no cycle time (METRICS.md 0.5)
            else:
                count = (finished.astimezone(tz).date() - started.astimezone(tz).date()).days + 1
                known[row] = count
        if count >= 0:
            keys.append(indexed.columns.keys[row])
            days.append(count)
    return keys, days


@dataclass(frozen=True)
class SleCompliance:
    """Share of the items finished in a window whose AA cycle time is within the SLE."""

    sle_days: float
    rate: float | None
    within_keys: tuple[str, ...]
    beyond_keys: tuple[str, ...]


def sle_compliance(
    timelines: Iterable[ItemTimeline], sle_days: float, start: datetime, end: datetime, tz: tzinfo
) -> SleCompliance:
    """How many items finished in ``[start, end)`` met the SLE (None rate when none finished)."""
    within: list[str] = []
    beyond: list[str] = []
    for key, days in zip(*cycle_days(timelines, start, end, tz), strict=True):
        (within if days <= sle_days else beyond).append(key)
    total = len(within) + len(beyond)
    return SleCompliance(
        sle_days, len(within) / total if total else None, tuple(within), tuple(beyond)
    )


# --- Throughput and net flow ----------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodCount:
    """How many items an event happened to in one day or week, and which."""

    start: date
    count: int
    item_keys: tuple[str, ...]


def _per_period(window: DayIndex, per_day: list[list[str]], period: Period) -> list[PeriodCount]:
    """Per-day keys as :class:`PeriodCount` per day or per Monday week.

    The first and last week only cover their days inside the window.
    """
    if period == "day":
        return [PeriodCount(d, len(k), tuple(k)) for d, k in zip(window.days, per_day, strict=True)]
    weeks: dict[date, list[str]] = {}
    for day, keys in zip(window.days, per_day, strict=True):
        weeks.setdefault(week_start(day), []).extend(keys)
    return [PeriodCount(w, len(k), tuple(k)) for w, k in weeks.items()]


def _rows_per_period(
    timelines: Timelines,
    rows: npt.NDArray[np.int64],
    instants: npt.NDArray[np.float64],
    window: DayIndex,
    period: Period,
) -> list[PeriodCount]:
    """The timelines at ``rows`` counted per day or week of their ``instants``, zero-filled.

    ``instants`` are POSIX seconds inside the window; each day keeps the keys in row order.
    """
    if period not in ("day", "week"):
        raise ValueError(f"period must be 'day' or 'week', got {period!r}")
    edges = np.array([e.timestamp() for e in window.edges], dtype=np.float64)
    days = np.searchsorted(edges, instants, side="right") - 1
    order = np.argsort(days, kind="stable")
    ordered, bounds = rows[order].tolist(), np.searchsorted(days[order], range(len(edges))).tolist()
    keys = timelines.columns.keys
    per_day = [
        [keys[row] for row in ordered[bounds[k] : bounds[k + 1]]] for k in range(len(window.days))
    ]
    return _per_period(window, per_day, period)


def throughput(
    timelines: Iterable[ItemTimeline],
    start: date,
    end: date,
    tz: tzinfo,
    period: Period = "day",
) -> list[PeriodCount]:
    """Items finished per day or Monday week of ``[start, end)``, zero-filled (METRICS.md 3.5)."""
    indexed = as_timelines(timelines)
    window = DayIndex(start, end, tz)
    rows = indexed.finished_rows(window.first, window.last)
    return _rows_per_period(indexed, rows, indexed.columns.finished[rows], window, period)


@dataclass(frozen=True)
class NetFlow:
    """Items started and finished in one period; ``net`` > 0 means WIP grew."""

    start: date
    started: int
    finished: int
    started_keys: tuple[str, ...]
    finished_keys: tuple[str, ...]

    @property
    def net(self) -> int:
        """Started minus finished."""
        return self.started - self.finished


def net_flow(
    timelines: Iterable[ItemTimeline],
    start: date,
    end: date,
    tz: tzinfo,
    period: Period = "week",
) -> list[NetFlow]:
    """Arrivals into and departures from work in progress per period (METRICS.md 3.6).

    Started counts ``started_at``, finished counts ``finished_at`` (cancelled items are not
    finished).
    """
    indexed = as_timelines(timelines)
    window = DayIndex(start, end, tz)
    rows = indexed.started_rows(window.first, window.last)
    starts = _rows_per_period(indexed, rows, indexed.columns.started[rows], window, period)
    ends = throughput(indexed, start, end, tz, period)
    return [
        NetFlow(s.start, s.count, f.count, s.item_keys, f.item_keys)
        for s, f in zip(starts, ends, strict=True)
    ]


# --- WIP, flow load and aging ---------------------------------------------------------------------


@dataclass(frozen=True)
class DailyWip:
    """Work in progress at the end of one day, by the status each item was in then."""

    day: date
    wip: int
    by_status: dict[str, int]
    item_keys: tuple[str, ...]


def wip_per_day(
    source: Snapshot | Iterable[ItemTimeline], start: date, end: date, tz: tzinfo
) -> list[DailyWip]:
    """WIP at the end of each day of ``[start, end)`` (METRICS.md 3.3), with per-status counts.

    An item is WIP on day d when it started on or before d and did not finish or get cancelled on
    or before d. ``by_status`` counts those items by the status they were in at the end of d
    (``sum(by_status.values()) == wip``).
    """
    timelines = item_timelines(source) if isinstance(source, Snapshot) else as_timelines(source)
    window = DayIndex(start, end, tz)
    keys: list[list[str]] = [[] for _ in window.days]
    statuses: list[list[str]] = [[] for _ in window.days]
    for t in timelines.live_between(window.first, window.last):
        started = t.started_at
        assert started is not None
        key = t.item.key
        for first, stop, status, _ in day_end_states(
            t, window, window.present(started, t.ended_at)
        ):
            for k in range(first, stop):
                keys[k].append(key)
                statuses[k].append(status)
    return [
        DailyWip(day, len(k), dict(Counter(s)), tuple(k))
        for day, k, s in zip(window.days, keys, statuses, strict=True)
    ]


@dataclass(frozen=True)
class FlowLoad:
    """Flow items in an active, waiting or blocked state at the end of each day (METRICS.md 1.6)."""

    days: list[date]
    load: list[int]
    item_keys: list[tuple[str, ...]]
    by_type: dict[str, list[int]]
    """Per flow type (``unclassified`` for items of none), the daily load."""

    @property
    def mean(self) -> float | None:
        """The period's value: the mean of the daily loads (None for an empty window)."""
        return sum(self.load) / len(self.load) if self.load else None

    @property
    def last(self) -> int | None:
        """The load at the end of the last day."""
        return self.load[-1] if self.load else None


def flow_load(timelines: Iterable[ItemTimeline], start: date, end: date, tz: tzinfo) -> FlowLoad:
    """Flow load per day of ``[start, end)`` from each item's actual state at the end of the day.

    Unlike WIP, this follows the recorded history: an item in progress last week and back in the
    backlog since counts last week.
    """
    indexed = as_timelines(timelines)
    window = DayIndex(start, end, tz)
    type_of = FlowTypes(t.item for t in indexed)
    keys: list[list[str]] = [[] for _ in window.days]
    by_type: dict[str, list[int]] = {}
    first, last = window.first, window.last
    changed = indexed.changed_since(first)
    quiet_wip = [t for t in indexed.in_progress if t.status_since < first]
    for t in [*changed, *quiet_wip]:
        item = t.item
        if item.created_at >= last:
            continue
        since = t.status_since
        days = window.present(item.created_at, None if item.stage in IN_PROGRESS else since)
        counts = None
        key = item.key
        for first_day, stop, _, stage in day_end_states(t, window, days):
            if stage in IN_PROGRESS:
                if counts is None:
                    kind = type_of(item)
                    label = kind.value if kind is not None else "unclassified"
                    counts = by_type.setdefault(label, [0] * len(window.days))
                for k in range(first_day, stop):
                    keys[k].append(key)
                    counts[k] += 1
    return FlowLoad(window.days, [len(k) for k in keys], [tuple(k) for k in keys], by_type)


@dataclass(slots=True)
class AgingPoint:
    """One item in progress on the aging chart."""

    key: str
    title: str
    status: str
    stage: Stage
    started_at: datetime
    age_seconds: float
    age_days: int
    """ActionableAgile age: today's date minus the start date, plus one."""
    url: str | None
    blocked: bool

    @property
    def age_days_jam(self) -> int:
        """jira-agile-metrics age (no +1)."""
        return self.age_days - 1


def aging_wip(timelines: Iterable[ItemTimeline], now: datetime, tz: tzinfo) -> list[AgingPoint]:
    """Every item in progress at ``now`` with its age (METRICS.md 3.4), oldest first."""
    points = []
    for t in as_timelines(timelines).in_progress:
        if t.started_at is None or t.started_at > now:
            continue
        points.append(
            AgingPoint(
                key=t.item.key,
                title=t.item.title,
                status=t.item.status,
                stage=t.item.stage,
                started_at=t.started_at,
                age_seconds=(now - t.started_at).total_seconds(),
                age_days=calendar_days(t.started_at, now, tz),
                url=t.item.url,
                blocked=t.blocked_since is not None,
            )
        )
    points.sort(key=lambda p: (-p.age_seconds, p.key))
    return points


# --- Flow efficiency, distribution and blocked time -----------------------------------------------


@dataclass(slots=True)
class ItemEfficiency:
    """Active and total flow time of one finished item."""

    key: str
    active_seconds: float
    flow_seconds: float

    @property
    def efficiency(self) -> float:
        """Active share of the flow time, in [0, 1]."""
        return self.active_seconds / self.flow_seconds


def item_efficiency(t: ItemTimeline) -> ItemEfficiency | None:
    """Active time of a finished item (METRICS.md 1.5); None if unfinished or of zero flow time.

    Active time is the time in active stages between start and finish, minus the flagged part of
    it; the rest (waiting, blocked, back in the backlog, done before a reopen) is waiting time.
    A flag never cleared ends at the finish.
    """
    start, finish = t.started_at, t.finished_at
    if start is None or finish is None or finish <= start:
        return None
    active: list[Span] = []
    seconds = 0.0
    flagged = bool(t.flags)
    # The stays of t.stays(start), read in place: each status from its entry to the next change.
    transitions = t.transitions
    count = len(transitions)
    i = bisect_right(transitions, start, key=_AT) if count else 0
    stage: Stage | None
    if i:
        stage, entered = transitions[i - 1].to_stage, transitions[i - 1].at
    else:
        stage = transitions[0].from_stage if count else t.item.stage
        entered = t.item.created_at
    while entered < finish:
        left = transitions[i].at if i < count else None
        if stage is _ACTIVE:
            a = entered if entered > start else start
            b = finish if left is None or left > finish else left
            if a < b:
                seconds += (b - a).total_seconds()
                if flagged:
                    active.append((a, b))
        if left is None:
            break
        stage, entered = transitions[i].to_stage, left
        i += 1
    if flagged:
        seconds -= overlap_seconds(active, clip(t.flag_spans(), start, finish))
    return ItemEfficiency(t.item.key, seconds, (finish - start).total_seconds())


@dataclass(frozen=True)
class FlowEfficiency:
    """Flow efficiency of the items finished in a window."""

    ratio: float | None
    """Sum of active time over sum of flow time (METRICS.md 1.5 DECISION)."""
    median: float | None
    """Median of the items' own efficiencies (linear median)."""
    active_seconds: float
    waiting_seconds: float
    items: list[ItemEfficiency]
    item_keys: tuple[str, ...]

    @property
    def no_waiting_time(self) -> bool:
        """Data-quality hint: items finished yet none ever waited (no waiting state mapped?)."""
        return bool(self.items) and self.waiting_seconds == 0


def flow_efficiency(
    timelines: Iterable[ItemTimeline], start: datetime, end: datetime
) -> FlowEfficiency:
    """Flow efficiency over the items finished in ``[start, end)``; None values when none."""
    indexed = as_timelines(timelines)
    rows = indexed.finished_rows(start, end).tolist()
    items = [e for e in indexed.each("efficiency", rows, item_efficiency) if e is not None]
    active = sum(e.active_seconds for e in items)
    flow = sum(e.flow_seconds for e in items)
    return FlowEfficiency(
        ratio=active / flow if flow else None,
        median=median([e.efficiency for e in items]),
        active_seconds=active,
        waiting_seconds=flow - active,
        items=items,
        item_keys=tuple(e.key for e in items),
    )


@dataclass(frozen=True)
class FlowDistribution:
    """Share of each flow type among finished items and among items in progress (METRICS.md 1.7)."""

    completed: dict[FlowType, float | None]
    completed_keys: dict[FlowType, tuple[str, ...]]
    in_progress: dict[FlowType, float | None]
    in_progress_keys: dict[FlowType, tuple[str, ...]]
    unclassified_keys: tuple[str, ...]
    """Items of no flow type (supporting artifacts) finished in the window or in progress."""


def flow_distribution(
    timelines: Iterable[ItemTimeline], start: datetime, end: datetime
) -> FlowDistribution:
    """Flow types of items finished in ``[start, end)``, and of the WIP at ``end``.

    Types come from the items' current metadata (the model keeps no metadata history).
    """
    indexed = as_timelines(timelines)
    type_of = FlowTypes(t.item for t in indexed)
    done: dict[FlowType, list[str]] = {f: [] for f in FlowType}
    wip: dict[FlowType, list[str]] = {f: [] for f in FlowType}
    other = []
    for bucket, group in (
        (done, indexed.finished_between(start, end)),
        (wip, indexed.live_between(end, end)),
    ):
        for t in group:
            kind = type_of(t.item)
            if kind is None:
                other.append(t.item.key)
            else:
                bucket[kind].append(t.item.key)
    return FlowDistribution(
        completed=_shares(done),
        completed_keys={f: tuple(k) for f, k in done.items()},
        in_progress=_shares(wip),
        in_progress_keys={f: tuple(k) for f, k in wip.items()},
        unclassified_keys=tuple(other),
    )


def _shares(groups: dict[FlowType, list[str]]) -> dict[FlowType, float | None]:
    total = sum(len(keys) for keys in groups.values())
    return {f: (len(keys) / total if total else None) for f, keys in groups.items()}


@dataclass(slots=True)
class BlockedTime:
    """How long one item was blocked between its start and its finish (or now)."""

    key: str
    flagged_seconds: float
    blocked_stage_seconds: float
    blocked_seconds: float
    """The union of flagged and blocked-stage time (never counted twice)."""
    blocked_days_jam: int
    """jira-agile-metrics: calendar days of the flags set while in progress."""
    blocked_by: tuple[str, ...]
    """Keys of unfinished items it is linked as "blocked by" (a reason without a duration)."""


def item_blocked_time(
    t: ItemTimeline, now: datetime, tz: tzinfo, finished_keys: Collection[str] = ()
) -> BlockedTime:
    """Blocked time of one item (METRICS.md 3.10 DECISION and JAM's ``blocked_days``).

    Counted within ``[started_at, finished_at or cancelled_at or now]``; a flag never cleared ends
    at the finish (or ``now``). A flag set before the start counts from the start in seconds, and
    not at all in JAM days (JAM counts only flags set while in progress). ``finished_keys`` are the
    keys of finished items, whose "blocked by" links are resolved.
    """
    links = t.item.blocked_by
    open_links = (
        tuple(k for k in links if k not in finished_keys) if links and t.in_progress else ()
    )
    start = t.started_at
    ever_blocked = t.ever_blocked
    if start is None or not (t.flags or ever_blocked):
        return BlockedTime(t.item.key, 0.0, 0.0, 0.0, 0, open_links)
    end = t.ended_at or now
    if end <= start:
        return BlockedTime(t.item.key, 0.0, 0.0, 0.0, 0, open_links)
    spans = t.flag_spans()
    flagged = clip(spans, start, end)
    staged = clip(t.stage_spans(_BLOCKED), start, end) if ever_blocked else []
    jam_days = sum(
        (local_date(cleared or end, tz) - local_date(since, tz)).days
        for since, cleared in spans
        if start <= since < end
    )
    return BlockedTime(
        key=t.item.key,
        flagged_seconds=total_seconds(flagged),
        blocked_stage_seconds=total_seconds(staged),
        blocked_seconds=union_seconds(flagged + staged),
        blocked_days_jam=jam_days,
        blocked_by=open_links,
    )


@dataclass(frozen=True)
class BlockedSummary:
    """Blocked time of the items finished in a window and of those in progress now."""

    items: list[BlockedTime]
    """Items with any blocked time or open "blocked by" link, most blocked first."""
    finished_blocked_seconds: float
    finished_cycle_seconds: float
    item_keys: tuple[str, ...]

    @property
    def blocked_share(self) -> float | None:
        """Waste signal (METRICS.md 3.11): blocked time over cycle time of the finished items."""
        if not self.finished_cycle_seconds:
            return None
        return self.finished_blocked_seconds / self.finished_cycle_seconds


def blocked_time(
    timelines: Iterable[ItemTimeline], start: datetime, end: datetime, now: datetime, tz: tzinfo
) -> BlockedSummary:
    """Blocked time of items finished in ``[start, end)`` and of items in progress at ``now``."""
    indexed = as_timelines(timelines)
    rows = indexed.finished_rows(start, end).tolist()
    wip = indexed.in_progress
    finished_keys: set[str] = set()
    if any(t.item.blocked_by for t in wip):
        finished_keys = {t.item.key for t in indexed if t.item.stage in FINISHED}
    found = []
    blocked_sum = cycle_sum = 0.0
    for b, cycle in zip(
        finished_blocked_times(indexed, rows, tz), cycle_seconds(indexed, rows), strict=True
    ):
        blocked_sum += b.blocked_seconds
        cycle_sum += cycle or 0.0
        if b.blocked_seconds > 0:
            found.append(b)
    for t in wip:
        b = item_blocked_time(t, now, tz, finished_keys)
        if b.blocked_seconds > 0 or b.blocked_by:
            found.append(b)
    found.sort(key=lambda b: (-b.blocked_seconds, b.key))
    return BlockedSummary(found, blocked_sum, cycle_sum, tuple(b.key for b in found))


def finished_blocked_times(
    timelines: Timelines, rows: Iterable[int], tz: tzinfo
) -> list[BlockedTime]:
    """:func:`item_blocked_time` of the finished timelines at ``rows``.

    Each is computed once: a finished item's blocked time no longer changes.
    """

    def blocked(t: ItemTimeline) -> BlockedTime:
        if t.ended_at is None:
            raise ValueError(f"{t.item.key} has not finished: its blocked time depends on now")
        return item_blocked_time(t, t.ended_at, tz)

    return timelines.each(("blocked", tz), rows, blocked)
