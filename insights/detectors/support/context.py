"""What every detector reads: the snapshot, its timelines, and shared statistics computed once.

A :class:`DetectionContext` is built once per run. The statistics several detectors need (the
team's cycle-time percentiles, the stays of items in each status, the review facts of each pull
request) are computed lazily on first use and then shared, so a run stays linear in the number of
items and events however many detectors read them.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from functools import cached_property
from operator import attrgetter
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import numpy.typing as npt

from insights.agreements import Agreements
from insights.detectors.support.review_facts import ReviewFacts, review_facts
from insights.findings import Finding
from insights.item_timeline import ItemTimeline
from insights.metrics.cycle_time import cycle_days
from insights.metrics.flow_items import item_timelines
from insights.metrics.shared import calendar_days
from insights.model import ItemKind, Snapshot, Stage, WorkItem
from insights.percentiles import percentile_of_sorted
from insights.timeline_index import Timelines, as_timelines

if TYPE_CHECKING:  # insights.value_stream reads pull requests' review facts from this package
    from insights.scopes import ScopeRef
    from insights.value_stream import StreamStep

MIN_HISTORY_ITEMS = 5
"""Fewer finished items (or stays) than this in the look-back: no percentiles (METRICS 3.7)."""
STAY_HORIZON_DAYS = 30
"""Stays in a status are kept for this many days (the bottleneck and queue look-backs)."""
PR_LOOKBACK_DAYS = 7
"""Merged pull requests older than this are not reviewed by the detectors."""
IN_PROGRESS = frozenset(stage for stage in Stage if stage.in_progress)
"""``stage in IN_PROGRESS`` is ten times faster than ``stage.in_progress`` in the hot loops."""
_AT = attrgetter("at")


class Stay(NamedTuple):
    """An item's stay in one in-progress status; ``left`` is None while it is still there."""

    item: WorkItem
    status: str
    stage: Stage
    entered: datetime
    left: datetime | None


@dataclass(frozen=True, slots=True)
class Percentiles:
    """Nearest-rank percentiles of a distribution, keyed by percent (50, 70, 85, 95...)."""

    values: dict[int, float]
    count: int
    """How many values they were computed from."""
    item_keys: tuple[str, ...] = ()
    """The items behind the distribution (for "which items?")."""

    def __getitem__(self, percent: int) -> float:
        return self.values[percent]


class DetectionContext:
    """The input of every detector, with lazily computed statistics they share."""

    def __init__(
        self,
        snapshot: Snapshot,
        agreements: Agreements,
        now: datetime,
        tz: tzinfo,
        timelines: Sequence[ItemTimeline] | None = None,
        steps: Sequence[StreamStep] = (),
        *,
        teams_by_project: Mapping[str, str] = {},
        others: Mapping[str, Snapshot] = {},
        scopes: Sequence[ScopeRef] = (),
        shown: Mapping[str, Finding] = {},
    ) -> None:
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError(f"now must be a timezone-aware datetime, got naive {now!r}")
        self.snapshot = snapshot
        self.agreements = agreements
        self.now = now
        self.tz = tz
        self.team = snapshot.team
        source = as_timelines(item_timelines(snapshot) if timelines is None else timelines)
        created = source.created_by(now)
        self.timelines: Timelines = source if created.all() else source.subset(created)
        """The flow items' timelines (issues; no epics or sub-tasks), created by now."""
        self.steps: tuple[StreamStep, ...] = tuple(steps)
        """The team's value stream steps; () for the default of the snapshot's board order."""
        self.teams_by_project: Mapping[str, str] = teams_by_project
        """Each configured project key (``PAY``) and its team (``insights.trace.project_teams``)."""
        self.others: Mapping[str, Snapshot] = others
        """The other configured teams' snapshots by team name (what blocks this team's items)."""
        self.scopes: tuple[ScopeRef, ...] = tuple(scopes)
        """The epics and labels the team tracks (``TeamConfig.scope_refs()``)."""
        self.shown: Mapping[str, Finding] = shown
        """What the team's alert cards show now, by dedupe key: the finding each card was last
        rendered from (empty for a report, a backtest or an answer as of a past instant)."""

    # --- dates --------------------------------------------------------------------------------

    def local_date(self, instant: datetime) -> date:
        """The calendar day of ``instant`` in the team's time zone."""
        return instant.astimezone(self.tz).date()

    @cached_property
    def today(self) -> date:
        """Today in the team's time zone."""
        return self.local_date(self.now)

    def days_ago(self, days: float) -> datetime:
        """The instant ``days`` before now."""
        return self.now - timedelta(days=days)

    def age_days_aa(self, started_at: datetime) -> int:
        """Work item age in calendar days, same-day = 1 (METRICS 3.4, ActionableAgile)."""
        return calendar_days(started_at, self.now, self.tz)

    def aging_percents(self) -> tuple[int, int, int]:
        """The (info, warn, critical) percentiles: 70, the team's aging percentile, 95."""
        return 70, self.agreements.aging_percentile, 95

    # --- work in progress ---------------------------------------------------------------------

    @cached_property
    def horizon(self) -> datetime:
        """How far back the shared statistics look: the history look-back, at least 30 days."""
        return self.days_ago(max(self.agreements.history_days, STAY_HORIZON_DAYS))

    @cached_property
    def recent_mask(self) -> npt.NDArray[np.bool_]:
        """The timelines the windowed statistics look at (over ``timelines.columns``).

        Those that changed status, were created or finished since :attr:`horizon`, or are in
        progress.
        """
        columns, horizon = self.timelines.columns, self.horizon.timestamp()
        return (
            (columns.status_since >= horizon) | (columns.finished >= horizon) | columns.in_progress
        )

    @cached_property
    def in_progress(self) -> list[ItemTimeline]:
        """Issues started and not finished, as of now."""
        return self.timelines.in_progress

    @cached_property
    def cycle_time_days(self) -> Percentiles | None:
        """Percentiles of cycle time in AA calendar days over the look-back; None under 5 items."""
        start = self.days_ago(self.agreements.history_days)
        keys, days = cycle_days(self.timelines, start, self.now, self.tz)
        return _percentiles(days, self.aging_percents(), tuple(keys))

    @cached_property
    def other_items(self) -> list[tuple[int, WorkItem]]:
        """The snapshot's items without a timeline here, with their positions, in order.

        Pull requests, epics, sub-tasks, and items created after now.
        """
        items, positions = self.snapshot.items, self.timelines.columns.positions
        if positions is None:  # timelines of unknown origin: every item
            return list(enumerate(items))
        covered = np.zeros(len(items), dtype=np.bool_)
        covered[positions] = True
        return [(position, items[position]) for position in np.flatnonzero(~covered).tolist()]

    @cached_property
    def items_by_ref(self) -> dict[str, WorkItem]:
        """Every work item of the snapshot by its id and by its key."""
        refs = {item.id: item for item in self.snapshot.items}
        refs.update((item.key, item) for item in self.snapshot.items)
        return refs

    # --- stays in statuses --------------------------------------------------------------------

    @cached_property
    def stays(self) -> list[Stay]:
        """Stays of issues in in-progress statuses during the last ``STAY_HORIZON_DAYS`` days.

        Newest first per item. Transitions dated after now (a report ``as of`` a past instant)
        are ignored.
        """
        return self._stays_and_durations[0]

    @cached_property
    def stay_seconds(self) -> list[float]:
        """How long each of :attr:`stays` lasted, in seconds (NaN while it lasts)."""
        return self._stays_and_durations[1]

    @cached_property
    def time_in_status_seconds(self) -> dict[str, Percentiles]:
        """Per status, percentiles of finished stays that ended in the look-back (5+ stays)."""
        result = {}
        for status, values in self._stays_and_durations[2].items():
            stats = _percentiles(values, self.aging_percents(), ())
            if stats is not None:
                result[status] = stats
        return result

    @cached_property
    def _stays_and_durations(self) -> tuple[list[Stay], list[float], dict[str, list[float]]]:
        """The recent stays, their seconds, and per status the seconds of those ended lately.

        Lately is the look-back (``agreements.history_days``). Each recent item's history is read
        newest first and only back to :attr:`horizon`, so the cost is one step per recent item
        plus its recent changes.
        """
        horizon, now = self.horizon, self.now
        history_start = self.days_ago(self.agreements.history_days)
        recent_start = self.days_ago(STAY_HORIZON_DAYS)
        stays: list[Stay] = []
        stay_seconds: list[float] = []
        durations: dict[str, list[float]] = defaultdict(list)
        add, add_seconds, nan = stays.append, stay_seconds.append, math.nan

        def record(
            item: WorkItem, status: str, stage: Stage, entered: datetime, left: datetime | None
        ) -> None:
            """Keep a stay in progress if recent, and its seconds if it ended in the look-back."""
            if left is None:
                add(_stay(item, status, stage, entered, None))
                add_seconds(nan)
            elif left > recent_start or left >= history_start:
                seconds = (left - entered).total_seconds()
                if left > recent_start:
                    add(_stay(item, status, stage, entered, left))
                    add_seconds(seconds)
                if left >= history_start:
                    durations[status].append(seconds)

        for timeline in self.timelines.where(self.recent_mask):
            item, transitions = timeline.item, timeline.transitions
            if not transitions:
                if item.stage in IN_PROGRESS:
                    record(item, item.status, item.stage, item.created_at, None)
                continue
            last = transitions[-1]
            if horizon > last.at:  # in progress for long: one stay
                if last.to_stage in IN_PROGRESS:
                    record(item, last.to_status, last.to_stage, last.at, None)
                continue
            if last.at > now:  # a report as of a past instant: later changes did not happen yet
                transitions = transitions[: bisect_right(transitions, now, key=_AT)]
            left: datetime | None = None  # when the stay being read ended (None: not yet)
            for transition in reversed(transitions):
                at, stage = transition.at, transition.to_stage
                if stage in IN_PROGRESS:  # record(...), inlined: this runs once per change
                    if left is None:
                        add(_stay(item, transition.to_status, stage, at, None))
                        add_seconds(nan)
                    elif left > recent_start or left >= history_start:
                        seconds = (left - at).total_seconds()
                        if left > recent_start:
                            add(_stay(item, transition.to_status, stage, at, left))
                            add_seconds(seconds)
                        if left >= history_start:
                            durations[transition.to_status].append(seconds)
                left = at
                if at < horizon:
                    break
            else:  # read back to the first change: the stay in the initial status
                first = timeline.transitions[0]
                stage = first.from_stage or Stage.BACKLOG
                if stage in IN_PROGRESS:
                    status = first.from_status or (first.to_status if transitions else item.status)
                    record(item, status, stage, item.created_at, left)
        return stays, stay_seconds, durations

    @cached_property
    def status_order(self) -> dict[str, int]:
        """Position of each workflow status in board order, by its name and lower-cased name."""
        order: dict[str, int] = {}
        for position, status in enumerate(self.snapshot.statuses):
            order.setdefault(status, position)
            order.setdefault(status.lower(), position)
        return order

    # --- pull requests ------------------------------------------------------------------------

    @cached_property
    def review_facts(self) -> dict[str, ReviewFacts]:
        """Review facts of open pull requests and those merged in the last week, by item id."""
        since = self.days_ago(PR_LOOKBACK_DAYS)
        facts = {}
        for _, pr in self.other_items:
            if pr.kind is not ItemKind.PULL_REQUEST or pr.created_at > self.now:
                continue
            if pr.merged_at is None and pr.stage.finished:
                continue  # closed without merging
            if pr.merged_at is not None and not since <= pr.merged_at < self.now:
                continue
            facts[pr.id] = review_facts(pr, self.snapshot.reviews.get(pr.id, ()), self.now)
        return facts

    def open_pull_requests(self) -> list[tuple[WorkItem, ReviewFacts]]:
        """Open pull requests (not merged as of now, not closed) with their review facts."""
        return [
            (facts.pr, facts)
            for facts in self.review_facts.values()
            if facts.pr.merged_at is None or facts.pr.merged_at > self.now
        ]


def _stay(
    item: WorkItem, status: str, stage: Stage, entered: datetime, left: datetime | None
) -> Stay:
    """``Stay(...)`` without the Python-level ``__new__`` of a NamedTuple (hot loop)."""
    return tuple.__new__(Stay, (item, status, stage, entered, left))


def _percentiles(
    values: Sequence[float], percents: Sequence[int], keys: tuple[str, ...]
) -> Percentiles | None:
    if len(values) < MIN_HISTORY_ITEMS:
        return None
    ordered = np.sort(np.asarray(values)).tolist()  # the same numbers, sorted in C
    wanted = sorted({50, 70, 85, 95, *percents})
    computed = {p: percentile_of_sorted(ordered, p / 100) for p in wanted}
    return Percentiles({p: v for p, v in computed.items() if v is not None}, len(values), keys)
