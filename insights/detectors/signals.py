"""Signals: weekly cycle time or throughput leaving its natural process limits (XmR chart).

Per Monday week in the team's time zone (complete weeks only): throughput (items finished,
zero-filled) and the median cycle time of the items finished that week. Natural process limits
come from a baseline of up to ``BASELINE_WEEKS`` weeks before the last ``RECENT_WEEKS`` weeks
(:func:`insights.xmr.xmr_limits`: mean +/- 2.66 x the mean moving range, the lower limit floored
at zero: counts and durations cannot go below it). A week outside the limits is a signal
(Wheeler's first rule; six recent points are too few for the run rules). When the latest complete
week is outside the limits, the shift is reported with a key naming the week the run outside
began, so it is reported once while it lasts; the first week back inside the limits reports the
recovery once, under its own key. A shift for the worse (cycle time up, throughput down) warns;
for the better it is info.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from statistics import median

import numpy as np

from insights.detectors.support.context import DetectionContext
from insights.detectors.support.wording import DAY_SECONDS, dedupe_key, plural
from insights.findings import Finding, Severity
from insights.metrics.cycle_time import cycle_seconds
from insights.xmr import XmrLimits, xmr_limits

NAME = "signals"
BASELINE_WEEKS = 12
RECENT_WEEKS = 6
MIN_BASELINE_POINTS = 6


def _side(value: float, limits: XmrLimits) -> str | None:
    """``"above"``, ``"below"`` or None (inside the natural process limits)."""
    if value > limits.upper:
        return "above"
    return "below" if value < limits.lower else None


@dataclass(frozen=True)
class _Metric:
    name: str
    unit: str
    worse: str
    """The side that is bad news: cycle time above, throughput below."""
    values: list[float | None]
    keys: list[list[str]]

    def describe(self, value: float) -> str:
        if self.name == "throughput":
            return plural(round(value), "item")
        return f"{value:.1f} days"


def _weekly(ctx: DetectionContext, weeks: list[date]) -> tuple[_Metric, _Metric]:
    edges = [
        datetime.combine(week, time(), ctx.tz).astimezone(UTC)
        for week in [*weeks, weeks[-1] + timedelta(weeks=1)]
    ]
    first, last = edges[0], min(edges[-1], ctx.now)
    timelines = ctx.timelines
    table = timelines.columns
    rows = np.sort(timelines.finished_rows(first, last))
    week_of = (
        np.searchsorted([e.timestamp() for e in edges], table.finished[rows], side="right") - 1
    )
    keys: list[list[str]] = [[] for _ in weeks]
    days: list[list[float]] = [[] for _ in weeks]
    rows_in_order = rows.tolist()
    cycles = cycle_seconds(timelines, rows_in_order)
    for row, week, seconds in zip(rows_in_order, week_of.tolist(), cycles, strict=True):
        keys[week].append(table.keys[row])
        if seconds is not None:
            days[week].append(seconds / DAY_SECONDS)
    medians = [median(d) if d else None for d in days]
    return (
        _Metric("cycle_time", "median_days", "above", medians, keys),
        _Metric("throughput", "items", "below", [float(len(k)) for k in keys], keys),
    )


def detect(ctx: DetectionContext) -> list[Finding]:
    """Findings for a weekly cycle time or throughput outside (or back inside) its limits."""
    this_week = ctx.today - timedelta(days=ctx.today.weekday())
    timelines = ctx.timelines
    if not timelines:
        return []
    created_range = timelines.columns.created_range
    assert created_range is not None
    earliest = ctx.local_date(created_range[0])
    first = max(
        this_week - timedelta(weeks=BASELINE_WEEKS + RECENT_WEEKS),
        earliest - timedelta(days=earliest.weekday()) + timedelta(weeks=1),  # first full week
    )
    weeks = [first + timedelta(weeks=n) for n in range((this_week - first).days // 7)]
    if len(weeks) < MIN_BASELINE_POINTS + 1:
        return []
    findings = []
    for metric in _weekly(ctx, weeks):
        finding = _check(ctx, metric, weeks)
        if finding is not None:
            findings.append(finding)
    return findings


def _check(ctx: DetectionContext, metric: _Metric, weeks: list[date]) -> Finding | None:
    recent = min(RECENT_WEEKS, len(weeks) - MIN_BASELINE_POINTS)
    baseline = [v for v in metric.values[:-recent] if v is not None]
    limits = xmr_limits(baseline, floor=0.0) if len(baseline) >= MIN_BASELINE_POINTS else None
    latest = metric.values[-1]
    if limits is None or latest is None:
        return None
    sides = [None if v is None else _side(v, limits) for v in metric.values[-recent:]]
    offset = len(weeks) - len(sides)
    shift = _Shift(metric, limits, latest, weeks[-1], weeks[offset], "", recovered=False)
    if sides[-1] is not None:
        began = weeks[offset + _run_start(sides, len(sides) - 1)]
        return _finding(ctx, _replace(shift, began, sides[-1], recovered=False))
    if len(sides) >= 2 and sides[-2] is not None:
        began = weeks[offset + _run_start(sides, len(sides) - 2)]
        return _finding(ctx, _replace(shift, began, sides[-2], recovered=True))
    return None


def _run_start(sides: list[str | None], last: int) -> int:
    """Index of the first week of the run of weeks on the same side ending at ``last``."""
    start = last
    while start > 0 and sides[start - 1] == sides[last]:
        start -= 1
    return start


@dataclass(frozen=True)
class _Shift:
    metric: _Metric
    limits: XmrLimits
    latest: float
    week: date
    began: date
    side: str
    recovered: bool

    @property
    def limit(self) -> float:
        return self.limits.upper if self.side == "above" else self.limits.lower


def _replace(shift: _Shift, began: date, side: str, recovered: bool) -> _Shift:
    return _Shift(shift.metric, shift.limits, shift.latest, shift.week, began, side, recovered)


def _finding(ctx: DetectionContext, shift: _Shift) -> Finding:
    metric, limits, latest = shift.metric, shift.limits, shift.latest
    label = metric.name.replace("_", " ")
    moved = "up" if shift.side == "above" else "down"
    if shift.recovered:
        severity = Severity.INFO
        title = (
            f"Weekly {label} is back within its natural process limits "
            f"({metric.describe(latest)} in the week of {_day(shift.week)}) after shifting "
            f"{moved} in the week of {_day(shift.began)}"
        )
        action = "Note what brought it back, so the team can do it again next time."
    else:
        worse = shift.side == metric.worse
        severity = Severity.WARN if worse else Severity.INFO
        since = (
            ""
            if shift.began == shift.week
            else f", outside its limits since the week of {_day(shift.began)}"
        )
        title = (
            f"Weekly {label} has shifted {moved}: {metric.describe(latest)} in the week of "
            f"{_day(shift.week)}, {shift.side} its natural process limit of "
            f"{metric.describe(shift.limit)}{since}"
        )
        action = (
            "Look at what changed in the week it began (people away, larger items, a new "
            "step, blocked work) and at the items behind it."
            if worse
            else "Find out what went well in those weeks and whether the team can keep it."
        )
    parts = [metric.name, shift.side, shift.began.isoformat()]
    return Finding(
        detector=NAME,
        severity=severity,
        subject="team",
        title=title,
        action=action,
        dedupe_key=dedupe_key(NAME, ctx.team, *parts, *(["recovered"] if shift.recovered else [])),
        evidence={
            "metric": metric.name,
            "week_start": shift.week.isoformat(),
            "shift_began_week_start": shift.began.isoformat(),
            f"{metric.name}_{metric.unit}": round(latest, 2),
            f"upper_limit_{metric.unit}": round(limits.upper, 2),
            f"lower_limit_{metric.unit}": round(limits.lower, 2),
            f"centre_line_{metric.unit}": round(limits.mean, 2),
            "baseline_weeks": limits.baseline,
        },
        item_keys=tuple(metric.keys[-1]),
    )


def _day(day: date) -> str:
    return f"{day.day} {day:%b}"
