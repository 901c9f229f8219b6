"""The team report: every metric, the daily series, DORA, a forecast and the findings at ``now``.

Pure: it takes a :class:`~insights.model.Snapshot`, the team's agreements, ``now`` and the team's
time zone. :func:`build_report` computes everything once (timelines are built a single time and
shared by the metrics and the detectors); :func:`insights.report_json.report_to_json` is the
documented JSON document of ``vsm report --json``; :class:`Digest` is the short view the terminal
and Slack digests render. A report of a past ``now`` reads the snapshot as it was then
(:func:`insights.as_of.snapshot_as_of`): it never sees what happened later.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from functools import partial
from typing import Any

import numpy as np

from insights.agreements import Agreements
from insights.as_of import snapshot_as_of
from insights.detectors import run_detectors
from insights.dora import DoraMetrics, dora_metrics
from insights.findings import Finding
from insights.forecast import HowManyForecast, WhenForecast, forecast_basis
from insights.item_timeline import ItemTimeline, local_date
from insights.metrics.blocked_time import blocked_time, item_blocked_time
from insights.metrics.cycle_time import cycle_time_summary
from insights.metrics.distribution import flow_distribution
from insights.metrics.efficiency import flow_efficiency
from insights.metrics.flow_items import item_timelines
from insights.metrics.flow_load import flow_load
from insights.metrics.lead_time import lead_time_summary
from insights.metrics.net_flow import net_flow
from insights.metrics.sle import service_level_expectation, sle_compliance
from insights.metrics.throughput import throughput
from insights.metrics.wip import wip_per_day
from insights.model import Snapshot
from insights.scopes import ScopeRef, ScopeStatus, scope_statuses
from insights.stages import CumulativeFlow, board_columns, cumulative_flow
from insights.subjects import FocusItem, focus, merge_by_subject
from insights.timeline_index import Timelines
from insights.value_stream import (
    StreamStep,
    ValueStreamMap,
    resolve_steps,
    value_stream_map,
    workflow_of,
)

DAY = 86400.0
AGING_DETECTOR = "aging_item"
BLOCKED_DETECTOR = "blocked_item"


@dataclass(frozen=True)
class ItemLine:
    """One item a digest names, with why."""

    key: str
    title: str
    status: str
    age_seconds: float
    url: str | None
    detail: str


@dataclass(frozen=True)
class ItemFacts:
    """Per-item figures of the report (items in progress now or finished in the window)."""

    key: str
    title: str
    status: str
    stage: str
    started_at: datetime | None
    finished_at: datetime | None
    cycle_time_seconds: float | None
    age_seconds: float | None
    blocked_seconds: float
    url: str | None


@dataclass(frozen=True)
class DayFacts:
    """One day of the window: WIP at its end, items finished on it, items per board column."""

    day: date
    wip: int
    throughput: int
    cfd: dict[str, int]


@dataclass(frozen=True)
class Forecast:
    """When the current WIP will be done, and how many items by the window's length from today."""

    basis_days: int
    when: WhenForecast | None
    how_many: HowManyForecast | None


@dataclass(frozen=True)
class TeamReport:
    """Everything ``vsm report`` knows about a team as of ``as_of``."""

    team: str
    as_of: datetime
    window_days: int
    window_start: datetime
    metrics: dict[str, float | int | None]
    """Every metric of the window; units are in the key names (``cycle_time_seconds_p85``)."""
    metric_items: dict[str, tuple[str, ...]]
    """The item keys behind the item-based metrics ("which items?")."""
    items: list[ItemFacts]
    daily: list[DayFacts]
    dora: DoraMetrics
    forecast: Forecast
    findings: list[Finding] = field(default_factory=list)
    """Each detector's findings (several may speak about one item)."""
    subjects: list[Finding] = field(default_factory=list)
    """One finding per subject (:func:`insights.subjects.merge_by_subject`): what people see."""
    focus: list[FocusItem] = field(default_factory=list)
    """The item findings that cost the most to leave waiting (:func:`insights.subjects.focus`)."""
    value_stream: ValueStreamMap | None = None
    """The team's value stream over the window (:mod:`insights.value_stream`)."""
    scopes: list[ScopeStatus] = field(default_factory=list)
    """Each tracked epic or label (``scopes``), in the configured order (:mod:`insights.scopes`)."""


@dataclass(frozen=True)
class Digest:
    """The short view of a report: headline numbers and the items needing attention now."""

    team: str
    as_of: datetime
    window_days: int
    wip: int
    wip_limit: int | None
    throughput: int
    cycle_time_seconds_p50: float | None
    cycle_time_seconds_p85: float | None
    finished_in_history: int
    aging: list[ItemLine] = field(default_factory=list)
    blocked: list[ItemLine] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def build_report(
    snapshot: Snapshot,
    agreements: Agreements,
    now: datetime,
    tz: tzinfo,
    window_days: int = 30,
    *,
    muted: Collection[str] = (),
    seed: int = 0,
    steps: Sequence[StreamStep] = (),
    teams_by_project: Mapping[str, str] = {},
    others: Mapping[str, Snapshot] = {},
    scopes: Sequence[ScopeRef] = (),
) -> TeamReport:
    """Compute every metric, series, DORA figure, forecast and finding of ``snapshot`` at ``now``.

    The snapshot is read as it was at ``now``: nothing recorded later plays a part. ``steps`` are
    the team's value stream (``TeamConfig.stream_steps()``); () maps the default stream of the
    snapshot's board order (:func:`insights.value_stream.resolve_steps`). ``teams_by_project``
    and ``others`` (the other configured teams' snapshots) reach the detectors
    (:func:`insights.detectors.run_detectors`). ``scopes`` are the epics and labels the team
    tracks (``TeamConfig.scope_refs()``): each is forecast, and ``scope_at_risk`` watches them.
    """
    past = snapshot_as_of(snapshot, now)
    teams = (teams_by_project, others)
    return _report(past, agreements, now, tz, window_days, muted, seed, steps, *teams, scopes)


def _report(
    snapshot: Snapshot,
    agreements: Agreements,
    now: datetime,
    tz: tzinfo,
    window_days: int,
    muted: Collection[str],
    seed: int,
    steps: Sequence[StreamStep] = (),
    teams_by_project: Mapping[str, str] = {},
    others: Mapping[str, Snapshot] = {},
    scopes: Sequence[ScopeRef] = (),
) -> TeamReport:
    """:func:`build_report` of a ``snapshot`` already as it was at ``now``."""
    if window_days < 1:
        raise ValueError(f"window_days must be at least 1, got {window_days}")
    lines = item_timelines(snapshot)  # flow items only: epics and sub-tasks left out
    today = local_date(now, tz)
    first_day = today - timedelta(days=window_days - 1)
    end_day = today + timedelta(days=1)
    start = now - timedelta(days=window_days)
    history_start = now - timedelta(days=agreements.history_days)

    cycle = cycle_time_summary(lines, history_start, now)
    lead = lead_time_summary(lines, start, now)
    done = throughput(lines, first_day, end_day, tz)
    weekly = throughput(lines, first_day, end_day, tz, "week")
    wip_days = wip_per_day(lines, first_day, end_day, tz)
    load = flow_load(lines, first_day, end_day, tz)
    efficiency = flow_efficiency(lines, start, now)
    distribution = flow_distribution(lines, start, now)
    blocked = blocked_time(lines, start, now, now, tz)
    flows = net_flow(lines, first_day, end_day, tz, "day")
    sle = service_level_expectation(lines, now, tz, agreements.history_days, agreements.sle_days)
    compliance = sle_compliance(lines, sle.days, start, now, tz) if sle else None
    in_progress = lines.where(lines.columns.in_progress & lines.created_by(now))
    percentiles = cycle.percentiles_seconds or {}

    metrics: dict[str, float | int | None] = {
        "wip": len(in_progress),
        "wip_limit": agreements.wip_limit,
        "throughput_items": sum(p.count for p in done),
        "throughput_items_per_week_mean": _mean([p.count for p in weekly]),
        "cycle_time_items": cycle.count,
        "cycle_time_seconds_mean": cycle.mean_seconds,
        **{f"cycle_time_seconds_p{q}": percentiles.get(q) for q in (50, 70, 85, 95)},
        "lead_time_items": lead.count,
        "lead_time_seconds_p50": (lead.percentiles_seconds or {}).get(50),
        "lead_time_seconds_p85": (lead.percentiles_seconds or {}).get(85),
        "sle_days": sle.days if sle else None,
        "sle_probability": sle.probability if sle else None,
        "sle_compliance_rate": compliance.rate if compliance else None,
        "flow_efficiency_ratio": efficiency.ratio,
        "flow_efficiency_median": efficiency.median,
        "flow_load_mean": _mean(load.load),
        "flow_load_last": load.load[-1] if load.load else None,
        "net_flow_started_items": sum(f.started for f in flows),
        "net_flow_finished_items": sum(f.finished for f in flows),
        "blocked_seconds_finished": blocked.finished_blocked_seconds,
        "blocked_share": blocked.blocked_share,
        **{f"flow_distribution_{k.value}": v for k, v in distribution.completed.items()},
    }
    metric_items = {
        "wip": tuple(t.item.key for t in in_progress),
        "throughput_items": tuple(k for p in done for k in p.item_keys),
        "cycle_time": cycle.item_keys,
        "lead_time": lead.item_keys,
        "flow_efficiency": efficiency.item_keys,
        "blocked": blocked.item_keys,
        "net_flow_started_items": tuple(k for f in flows for k in f.started_keys),
        "net_flow_finished_items": tuple(k for f in flows for k in f.finished_keys),
    }
    basis = forecast_basis(lines, now, tz)
    forecast = Forecast(
        basis_days=basis.days,
        when=basis.when(len(in_progress), seed=seed) if in_progress else None,
        how_many=basis.how_many(today + timedelta(days=window_days), seed=seed),
    )
    cfd = cumulative_flow(lines, board_columns(snapshot), first_day, end_day, tz)
    items = _item_facts(lines, start, now, tz)
    stream = resolve_steps(snapshot, workflow_of(snapshot), steps)
    findings = run_detectors(
        snapshot,
        agreements,
        now,
        tz,
        muted=muted,
        timelines=lines,
        steps=stream,
        teams_by_project=teams_by_project,
        others=others,
        scopes=scopes,
    )
    subjects = merge_by_subject(findings, snapshot, snapshot.team)
    ages = {facts.key: facts.age_seconds for facts in items if facts.finished_at is None}
    return TeamReport(
        team=snapshot.team,
        as_of=now,
        window_days=window_days,
        window_start=start,
        metrics=metrics,
        metric_items=metric_items,
        items=items,
        daily=_daily(done, wip_days, cfd),
        dora=dora_metrics(snapshot, start, now, tz),
        forecast=forecast,
        findings=findings,
        subjects=subjects,
        focus=focus(subjects, snapshot, now, ages, percentiles.get(85)),
        value_stream=value_stream_map(snapshot, lines, stream, start, now),
        scopes=scope_statuses(snapshot, scopes, now, tz, findings, seed),
    )


def _mean(values: list[int]) -> float | None:
    return sum(values) / len(values) if values else None


def _item_facts(lines: Timelines, start: datetime, now: datetime, tz: tzinfo) -> list[ItemFacts]:
    """Items in progress now (created by now) or finished in the window, in the snapshot's order.

    A finished item's facts no longer change: they are worked out once per timeline.
    """
    table = lines.columns
    in_progress = np.flatnonzero(table.in_progress & lines.created_by(now)).tolist()
    finished = lines.finished_rows(start, now).tolist()
    known = lines.each(("facts", tz), finished, partial(_facts, tz=tz))
    facts = dict(zip(finished, known, strict=True))
    for row in in_progress:
        facts[row] = _facts(lines[row], tz, now)
    return [facts[row] for row in sorted(facts)]


def _facts(t: ItemTimeline, tz: tzinfo, now: datetime | None = None) -> ItemFacts:
    """The facts of one item in progress at ``now``, or finished (``now`` then plays no part)."""
    end = now or t.ended_at
    if end is None:
        raise ValueError(f"{t.item.key} is in progress: its facts depend on now")
    item = t.item
    return ItemFacts(
        key=item.key,
        title=item.title,
        status=item.status,
        stage=item.stage.value,
        started_at=t.started_at,
        finished_at=t.finished_at,
        cycle_time_seconds=t.cycle_time_seconds(),
        age_seconds=t.age_seconds(end),
        blocked_seconds=item_blocked_time(t, end, tz).blocked_seconds,
        url=item.url,
    )


def _daily(done: list[Any], wip_days: list[Any], cfd: CumulativeFlow) -> list[DayFacts]:
    bands = {status: cfd.band(status) for status in cfd.statuses}
    return [
        DayFacts(
            day=d.start,
            wip=w.wip,
            throughput=d.count,
            cfd={status: bands[status][index] for status in cfd.statuses},
        )
        for index, (d, w) in enumerate(zip(done, wip_days, strict=True))
    ]


def _digest(report: TeamReport, snapshot: Snapshot) -> Digest:
    """The short view of ``report``: aging and blocked items come from their detectors' findings.

    ``snapshot`` is already as it was at the report's instant, so items are named as they were.
    """
    by_key = {i.key: i for i in snapshot.items}
    ages = {f.key: f.age_seconds for f in report.items}

    def lines_of(detector: str) -> list[ItemLine]:
        lines = []
        for finding in report.findings:
            item = by_key.get(finding.subject)
            if finding.detector != detector or item is None:
                continue
            age = ages.get(item.key) or 0.0
            lines.append(ItemLine(item.key, item.title, item.status, age, item.url, finding.title))
        return sorted(lines, key=lambda line: -line.age_seconds)

    metrics = report.metrics
    return Digest(
        team=report.team,
        as_of=report.as_of,
        window_days=report.window_days,
        wip=int(metrics["wip"] or 0),
        wip_limit=report.metrics["wip_limit"],  # type: ignore[arg-type]
        throughput=int(metrics["throughput_items"] or 0),
        cycle_time_seconds_p50=metrics["cycle_time_seconds_p50"],
        cycle_time_seconds_p85=metrics["cycle_time_seconds_p85"],
        finished_in_history=int(metrics["cycle_time_items"] or 0),
        aging=lines_of(AGING_DETECTOR),
        blocked=lines_of(BLOCKED_DETECTOR),
        findings=list(report.findings),
    )


def build_digest(
    snapshot: Snapshot,
    agreements: Agreements,
    now: datetime,
    tz: tzinfo,
    window_days: int = 14,
    *,
    muted: Collection[str] = (),
    steps: Sequence[StreamStep] = (),
    teams_by_project: Mapping[str, str] = {},
    others: Mapping[str, Snapshot] = {},
    scopes: Sequence[ScopeRef] = (),
) -> Digest:
    """The digest of ``snapshot`` at ``now`` (a full report, summarised)."""
    past = snapshot_as_of(snapshot, now)
    teams = (teams_by_project, others)
    report = _report(past, agreements, now, tz, window_days, muted, 0, steps, *teams, scopes)
    return _digest(report, past)
