"""What every detector reads: the snapshot, its timelines, and shared statistics computed once.

A :class:`DetectionContext` is built once per run. The statistics several detectors need (the
team's cycle-time percentiles, the stays of items in each status, the review facts of each pull
request) are computed lazily on first use and then shared, so a run stays linear in the number of
items and events however many detectors read them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from functools import cached_property
from typing import NamedTuple

from insights.agreements import Agreements
from insights.detectors.review_facts import ReviewFacts, review_facts
from insights.flow import item_timelines
from insights.model import Snapshot, Stage, WorkItem
from insights.percentiles import percentile
from insights.timeline import ItemTimeline

MIN_HISTORY_ITEMS = 5
"""Fewer finished items (or stays) than this in the look-back: no percentiles (METRICS 3.7)."""
STAY_HORIZON_DAYS = 30
"""Stays in a status are kept for this many days (the bottleneck and queue look-backs)."""
PR_LOOKBACK_DAYS = 7
"""Merged pull requests older than this are not reviewed by the detectors."""
IN_PROGRESS = frozenset(stage for stage in Stage if stage.in_progress)
"""``stage in IN_PROGRESS`` is ten times faster than ``stage.in_progress`` in the hot loops."""


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
    ) -> None:
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError(f"now must be a timezone-aware datetime, got naive {now!r}")
        self.snapshot = snapshot
        self.agreements = agreements
        self.now = now
        self.tz = tz
        self.team = snapshot.team
        source = item_timelines(snapshot) if timelines is None else timelines
        self.timelines = [t for t in source if t.item.created_at <= now]
        """The flow items' timelines (issues; no epics or sub-tasks), created by now."""

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
        return (self.today - self.local_date(started_at)).days + 1

    def aging_percents(self) -> tuple[int, int, int]:
        """The (info, warn, critical) percentiles: 70, the team's aging percentile, 95."""
        return 70, self.agreements.aging_percentile, 95

    # --- work in progress ---------------------------------------------------------------------

    @cached_property
    def horizon(self) -> datetime:
        """How far back the shared statistics look: the history look-back, at least 30 days."""
        return self.days_ago(max(self.agreements.history_days, STAY_HORIZON_DAYS))

    @cached_property
    def recent(self) -> list[ItemTimeline]:
        """Timelines with a status change, creation or finish since :attr:`horizon`, or in progress.

        One pass over every item; the windowed statistics (stays, finished items, moves of the
        week) then only walk these.
        """
        horizon, transitions_of = self.horizon, self.snapshot.transitions
        recent = []
        for t in self.timelines:
            transitions = transitions_of.get(t.item.id)
            last = transitions[-1].at if transitions else t.item.created_at
            if (
                last >= horizon
                or (t.finished_at is not None and t.finished_at >= horizon)
                or (t.started_at is not None and t.item.stage in IN_PROGRESS)
            ):
                recent.append(t)
        return recent

    @cached_property
    def in_progress(self) -> list[ItemTimeline]:
        """Issues started and not finished, as of now."""
        return [t for t in self.recent if t.started_at is not None and t.item.stage in IN_PROGRESS]

    @cached_property
    def finished_in_history(self) -> list[ItemTimeline]:
        """Issues finished (done) within the look-back of ``agreements.history_days``."""
        start = self.days_ago(self.agreements.history_days)
        return [
            t
            for t in self.recent
            if t.finished_at is not None and start <= t.finished_at < self.now
        ]

    @cached_property
    def cycle_time_days(self) -> Percentiles | None:
        """Percentiles of cycle time in AA calendar days over the look-back; None under 5 items."""
        values: list[float] = []
        keys: list[str] = []
        for t in self.finished_in_history:
            if t.started_at is None or t.finished_at is None or t.finished_at < t.started_at:
                continue
            values.append((self.local_date(t.finished_at) - self.local_date(t.started_at)).days + 1)
            keys.append(t.item.key)
        return _percentiles(values, self.aging_percents(), tuple(keys))

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
    def time_in_status_seconds(self) -> dict[str, Percentiles]:
        """Per status, percentiles of finished stays that ended in the look-back (5+ stays)."""
        result = {}
        for status, values in self._stays_and_durations[1].items():
            stats = _percentiles(values, self.aging_percents(), ())
            if stats is not None:
                result[status] = stats
        return result

    @cached_property
    def _stays_and_durations(self) -> tuple[list[Stay], dict[str, list[float]]]:
        """The recent stays, and per status the seconds of stays that ended in the look-back.

        Each item's transitions are read newest first and only back to :attr:`horizon`, so the
        cost is one step per recent item plus its recent events.
        """
        horizon, now, transitions_of = self.horizon, self.now, self.snapshot.transitions
        history_start = self.days_ago(self.agreements.history_days)
        recent_start = self.days_ago(STAY_HORIZON_DAYS)
        stays: list[Stay] = []
        durations: dict[str, list[float]] = defaultdict(list)
        for timeline in self.recent:
            item = timeline.item
            transitions = transitions_of.get(item.id, ())
            if transitions and horizon > transitions[-1].at:  # in progress for long: one stay
                last = transitions[-1]
                if last.to_stage in IN_PROGRESS:
                    stays.append(Stay(item, last.to_status, last.to_stage, last.at, None))
                continue
            left: datetime | None = None
            status, stage = item.status, item.stage
            for transition in reversed(transitions):
                at = transition.at
                if at > now:
                    continue
                status, stage = transition.to_status, transition.to_stage
                if stage in IN_PROGRESS:
                    if left is None or left > recent_start:
                        stays.append(Stay(item, status, stage, at, left))
                    if left is not None and left >= history_start:
                        durations[status].append((left - at).total_seconds())
                left = at
                if left < horizon:
                    break
            else:
                if transitions:
                    status = transitions[0].from_status or status
                    stage = transitions[0].from_stage or Stage.BACKLOG
                if stage in IN_PROGRESS:
                    if left is None or left > recent_start:
                        stays.append(Stay(item, status, stage, item.created_at, left))
                    if left is not None and left >= history_start:
                        durations[status].append((left - item.created_at).total_seconds())
        return stays, durations

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
        for pr in self.snapshot.pull_requests():
            if pr.created_at > self.now:
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


def _percentiles(
    values: list[float], percents: Sequence[int], keys: tuple[str, ...]
) -> Percentiles | None:
    if len(values) < MIN_HISTORY_ITEMS:
        return None
    values.sort()
    wanted = sorted({50, 70, 85, 95, *percents})
    computed = {p: percentile(values, p / 100) for p in wanted}
    return Percentiles({p: v for p, v in computed.items() if v is not None}, len(values), keys)
