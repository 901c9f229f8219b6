"""Aging item: in-progress work older than most of this team's finished work (METRICS 3.4, 4).

An item's age (ActionableAgile calendar days, same day = 1) is compared with the team's cycle-time
percentiles over the look-back: a heads-up at the 70th, a warning at the team's aging percentile
(85th by default), critical past the 95th. Where the status it sits in has history (5+ finished
stays), the time in that status is compared with that status's own percentiles too, and the worse
of the two is reported ("6 days in Code Review, past this team's 85th percentile for that stage").
Quiet until the team has 5 finished items in the look-back (METRICS 3.7).
"""

from __future__ import annotations

from typing import NamedTuple

from insights.detectors.support.context import DetectionContext, Percentiles
from insights.detectors.support.ranking import Candidate, more_items, report_worst
from insights.detectors.support.wording import (
    DAY_SECONDS,
    assigned,
    days,
    dedupe_key,
    duration,
    ordinal,
)
from insights.findings import Finding, Severity
from insights.item_timeline import ItemTimeline
from insights.model import Stage

NAME = "aging_item"


class _Verdict(NamedTuple):
    severity: Severity
    percent: int
    threshold: float
    value: float

    @property
    def past(self) -> str:
        return "past" if self.value > self.threshold else "reaching"


class _Aging(NamedTuple):
    timeline: ItemTimeline
    age_days: int
    in_status_seconds: float
    status_stats: Percentiles | None
    by_age: _Verdict | None
    by_stage: _Verdict | None

    @property
    def stage_first(self) -> bool:
        """The stage verdict is the headline: strictly worse than the age verdict."""
        if self.by_stage is None:
            return False
        return self.by_age is None or self.by_stage.severity.rank > self.by_age.severity.rank

    @property
    def headline(self) -> _Verdict:
        verdict = self.by_stage if self.stage_first else self.by_age
        if verdict is None:
            raise ValueError("an aging item needs a verdict")
        return verdict


_SEVERITIES = (Severity.INFO, Severity.INFO, Severity.WARN, Severity.CRITICAL)


def _level(value: float, thresholds: tuple[float, float, float]) -> int:
    """0 below the heads-up, 1 info (at or past), 2 warn (at or past), 3 critical (past)."""
    info, warn, critical = thresholds
    return 3 if value > critical else 2 if value >= warn else 1 if value >= info else 0


def _ratio(value: float, threshold: float) -> float:
    """How far past its threshold a value is (the value itself for a zero threshold)."""
    return value / threshold if threshold > 0 else value


def _verdict(value: float, stats: Percentiles, percents: tuple[int, int, int]) -> _Verdict | None:
    level = _level(value, (stats[percents[0]], stats[percents[1]], stats[percents[2]]))
    if not level:
        return None
    percent = percents[level - 1]
    return _Verdict(_SEVERITIES[level], percent, stats[percent], value)


def detect(ctx: DetectionContext) -> list[Finding]:
    """Findings for in-progress items past the team's cycle-time or time-in-status percentiles."""
    overall = ctx.cycle_time_days
    if overall is None:
        return []
    percents = ctx.aging_percents()
    by_age = (overall[percents[0]], overall[percents[1]], overall[percents[2]])
    by_status = {
        status: (stats[percents[0]], stats[percents[1]], stats[percents[2]])
        for status, stats in ctx.time_in_status_seconds.items()
    }
    now = ctx.now
    candidates = []
    for timeline in ctx.in_progress:
        item, started = timeline.item, timeline.started_at
        if started is None:
            continue
        age_days = ctx.age_days_aa(started)
        level = _level(age_days, by_age)
        magnitude = _ratio(age_days, by_age[max(0, level - 1)])
        stage_thresholds = by_status.get(item.status) if item.stage is not Stage.BLOCKED else None
        if stage_thresholds is not None:
            in_status = (now - timeline.status_since).total_seconds()
            stage_level = _level(in_status, stage_thresholds)
            if stage_level > level:
                level = stage_level
                magnitude = _ratio(in_status, stage_thresholds[level - 1])
        if level:
            candidates.append((Candidate.of(_SEVERITIES[level], magnitude, item.key), timeline))
    return report_worst(
        NAME,
        ctx.team,
        candidates,
        lambda timeline: _finding(ctx, _assess(ctx, timeline, overall)),
        lambda n: more_items(n, "in progress are older than most of this team's finished work"),
        "Walk the board from the right at stand-up: finish or stop the oldest work first.",
    )


def _assess(ctx: DetectionContext, timeline: ItemTimeline, overall: Percentiles) -> _Aging:
    """Both verdicts on one item, with the numbers its finding shows."""
    percents = ctx.aging_percents()
    started = timeline.started_at or timeline.item.created_at
    age_days = ctx.age_days_aa(started)
    in_status_seconds = max(0.0, (ctx.now - timeline.status_since).total_seconds())
    status_stats = None
    if timeline.item.stage is not Stage.BLOCKED:  # blocked_item reports those
        status_stats = ctx.time_in_status_seconds.get(timeline.item.status)
    return _Aging(
        timeline,
        age_days,
        in_status_seconds,
        status_stats,
        _verdict(age_days, overall, percents),
        _verdict(in_status_seconds, status_stats, percents) if status_stats else None,
    )


def _finding(ctx: DetectionContext, aging: _Aging) -> Finding:
    timeline, by_age, by_stage = aging.timeline, aging.by_age, aging.by_stage
    overall, status_stats = ctx.cycle_time_days, aging.status_stats
    if overall is None:
        raise ValueError("aging findings need the team's cycle-time percentiles")
    item = timeline.item
    percents = ctx.aging_percents()
    evidence: dict[str, float | int | str] = {
        "age_days": aging.age_days,
        "status": item.status,
        "time_in_status_days": round(aging.in_status_seconds / DAY_SECONDS, 1),
        "finished_items_in_history": overall.count,
        **{f"cycle_time_p{p}_days": overall[p] for p in percents},
    }
    if status_stats is not None:
        evidence.update(
            {f"status_p{p}_days": round(status_stats[p] / DAY_SECONDS, 1) for p in percents}
        )
    if aging.stage_first and by_stage is not None:
        title = _stage_clause(timeline, by_stage)
        if by_age:
            title += f"; {days(aging.age_days)} in progress overall"
        action = (
            f"Ask what {item.key} needs to leave {item.status}; swarm on it, or split it if it "
            "is too big to finish."
        )
    else:
        title = _age_clause(timeline, aging.headline)
        if by_stage:
            title += f"; {duration(aging.in_status_seconds)} of it in {item.status}"
        action = f"Talk about {item.key} at stand-up: swarm on it, split it, or agree to stop it."
    return Finding(
        detector=NAME,
        severity=aging.headline.severity,
        subject=item.key,
        title=title,
        action=action,
        dedupe_key=dedupe_key(NAME, ctx.team, item.key),
        evidence=evidence,
        item_keys=(item.key,),
        url=item.url,
        **assigned(item),
    )


def _stage_clause(timeline: ItemTimeline, verdict: _Verdict) -> str:
    item = timeline.item
    return (
        f"{item.key} has been in {item.status} for {duration(verdict.value)}, {verdict.past} "
        f"this team's {ordinal(verdict.percent)} percentile for that stage "
        f"({duration(verdict.threshold)})"
    )


def _age_clause(timeline: ItemTimeline, verdict: _Verdict) -> str:
    return (
        f"{timeline.item.key} has been in progress for {days(verdict.value)}, {verdict.past} "
        f"this team's {ordinal(verdict.percent)} percentile cycle time ({days(verdict.threshold)})"
    )
