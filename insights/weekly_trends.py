"""Weekly trends for the weekly digest: seven-day series of flow and DORA figures, each judged.

Pure: it takes a :class:`~insights.model.Snapshot`, the day the series end (exclusive: the team's
today, so the last week is the seven full days before it) and the team's time zone. Each series
holds ``weeks`` seven-day blocks, oldest first; the last block is "this week" and the one before
it "last week" (the delta). Calendar time throughout, as in the metrics (METRICS.md):

- cycle time p85: of the items finished in the week (nearest rank), days;
- throughput: items finished in the week;
- WIP: the mean of the week's daily WIP;
- flow efficiency: active over flow time of the items finished in the week (METRICS.md 1.5), %;
- deployment frequency: production deployments in the week;
- lead time for changes: the DevLake lower median of the week's shipped pull requests, days;
- change failure rate: the week's deployments with an attributed incident, %.

**Verdict** (Wheeler's XmR chart, :mod:`insights.xmr`): natural process limits from the weeks
before this one that have a value (at least :data:`MIN_BASELINE_WEEKS`), the lower limit floored
at zero; this week is a *signal* when a detection rule fires at it (outside the limits, three of
four near a limit, eight on one side of the centre line, or a jump beyond the upper range limit),
else *noise*: the variation the process routinely shows, nothing to react to.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from itertools import pairwise
from typing import Literal

from insights.dora import DoraMetrics, dora_metrics
from insights.item_timeline import day_start
from insights.metrics.cycle_time import cycle_time_points
from insights.metrics.efficiency import flow_efficiency
from insights.metrics.flow_items import flow_items, item_timelines
from insights.metrics.throughput import throughput
from insights.metrics.wip import wip_per_day
from insights.model import Snapshot, Stage
from insights.percentiles import percentile
from insights.timeline_index import Timelines
from insights.xmr import Rule, XmrLimits, XmrSignal, xmr_limits, xmr_signals

WEEKS = 12
"""Weeks in a series: this week and up to eleven before it for the limits."""
MIN_BASELINE_WEEKS = 6
DAY = 86400.0
Verdict = Literal["signal", "noise", "too few weeks", "no data"]
RULE_ORDER: tuple[Rule, ...] = ("outside_limits", "range", "three_of_four", "run_of_eight")
"""The rule a verdict names when several fire: the plainest first."""


@dataclass(frozen=True)
class WeeklyTrend:
    """One figure week by week, with this week's verdict."""

    metric: str
    """The figure's name in "Why?" buttons (:data:`bot.slack.ids.explain_value`)."""
    label: str
    unit: str
    higher_is_better: bool
    weeks: tuple[date, ...]
    """The first day of each week, oldest first."""
    values: tuple[float | None, ...]
    """One value per week (None: nothing to measure that week)."""
    verdict: Verdict
    limits: XmrLimits | None = None
    signal: XmrSignal | None = None

    @property
    def current(self) -> float | None:
        """The value of this week (the last one)."""
        return self.values[-1] if self.values else None

    @property
    def previous(self) -> float | None:
        """Last week's value."""
        return self.values[-2] if len(self.values) >= 2 else None

    @property
    def delta(self) -> float | None:
        """The change from last week to this one (None unless both are known)."""
        if self.current is None or self.previous is None:
            return None
        return self.current - self.previous


def judge(values: Sequence[float | None]) -> tuple[Verdict, XmrLimits | None, XmrSignal | None]:
    """The verdict on the last of ``values`` against the limits of the known values before it."""
    if not values or values[-1] is None:
        return "no data", None, None
    known = [v for v in values if v is not None]
    limits = xmr_limits(known[:-1], floor=0.0) if len(known) > MIN_BASELINE_WEEKS else None
    if limits is None:
        return "too few weeks", None, None
    fired = [s for s in xmr_signals(known, limits) if s.index == len(known) - 1]
    if not fired:
        return "noise", limits, None
    return "signal", limits, min(fired, key=lambda s: RULE_ORDER.index(s.rule))


def week_starts(end: date, weeks: int = WEEKS) -> list[date]:
    """The first days of the ``weeks`` seven-day blocks that end the day before ``end``."""
    return [end - timedelta(days=7 * (weeks - n)) for n in range(weeks)]


def weekly_trends(
    snapshot: Snapshot, end: date, tz: tzinfo, weeks: int = WEEKS
) -> list[WeeklyTrend]:
    """The weekly series of the module docstring, each with this week's verdict."""
    starts = week_starts(end, weeks)
    edges = [day_start(d, tz) for d in [*starts, end]]
    spans = list(pairwise(edges))
    lines = item_timelines(snapshot)
    dora: list[DoraMetrics | None] = [
        # no deployment recorded at all: no DORA source, so no figures (not zeros)
        dora_metrics(snapshot, a, b, tz) if snapshot.deployments else None
        for a, b in spans
    ]
    series: list[tuple[str, str, str, bool, list[float | None]]] = [
        ("cycle_time", "Cycle time p85", "days", False, _cycle_p85(lines, spans, tz)),
        ("throughput_items", "Throughput", "items", True, _finished(lines, starts, end, tz)),
        ("wip", "WIP (daily mean)", "items", False, _wip(lines, starts, end, tz)),
        ("flow_efficiency", "Flow efficiency", "%", True, _efficiency(lines, spans)),
        ("deployment_frequency", "Deployments", "per week", True, _of(dora, _deploys)),
        ("lead_time_for_changes", "Lead time for changes", "days", False, _of(dora, _lead)),
        ("change_failure_rate", "Change failure rate", "%", False, _of(dora, _failures)),
    ]
    return [
        WeeklyTrend(metric, label, unit, better, tuple(starts), tuple(values), *judge(values))
        for metric, label, unit, better, values in series
    ]


def _blocks(daily: Sequence[float]) -> list[Sequence[float]]:
    return [daily[i : i + 7] for i in range(0, len(daily), 7)]


def _finished(lines: Timelines, starts: list[date], end: date, tz: tzinfo) -> list[float | None]:
    daily = [float(p.count) for p in throughput(lines, starts[0], end, tz)]
    return [sum(block) for block in _blocks(daily)]


def _wip(lines: Timelines, starts: list[date], end: date, tz: tzinfo) -> list[float | None]:
    daily = [float(d.wip) for d in wip_per_day(lines, starts[0], end, tz)]
    return [sum(block) / len(block) for block in _blocks(daily)]


def _cycle_p85(
    lines: Timelines, spans: list[tuple[datetime, datetime]], tz: tzinfo
) -> list[float | None]:
    values: list[float | None] = []
    for start, end in spans:
        p85 = percentile(
            [p.cycle_time_seconds for p in cycle_time_points(lines, start, end, tz)], 0.85
        )
        values.append(None if p85 is None else p85 / DAY)
    return values


def _efficiency(lines: Timelines, spans: list[tuple[datetime, datetime]]) -> list[float | None]:
    ratios = [flow_efficiency(lines, start, end).ratio for start, end in spans]
    return [None if r is None else r * 100 for r in ratios]


def _of(
    weeks: list[DoraMetrics | None], pick: Callable[[DoraMetrics], float | None]
) -> list[float | None]:
    return [None if week is None else pick(week) for week in weeks]


def _deploys(week: DoraMetrics) -> float | None:
    return float(week.deployment_count)


def _lead(week: DoraMetrics) -> float | None:
    seconds = week.lead_time_for_changes_seconds_median
    return None if seconds is None else seconds / DAY


def _failures(week: DoraMetrics) -> float | None:
    rate = week.change_failure_rate
    return None if rate is None else rate * 100


@dataclass(frozen=True)
class Queue:
    """A status where flow items wait now, and how many."""

    status: str
    items: int


def longest_queue(snapshot: Snapshot, now: datetime) -> Queue | None:
    """The waiting or blocked status holding the most flow items at ``now`` (ties by name)."""
    counts = Counter(
        item.status
        for item in flow_items(snapshot)
        if item.removed_at is None
        and item.created_at <= now
        and item.stage in (Stage.WAITING, Stage.BLOCKED)
    )
    if not counts:
        return None
    status = min(counts, key=lambda s: (-counts[s], s))
    return Queue(status, counts[status])
