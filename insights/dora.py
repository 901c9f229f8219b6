"""DORA software delivery metrics (METRICS.md section 2), DevLake-compatible, with bands.

A *deployment* is a successful deployment to production (``Deployment.is_production_success``),
counted at its ``finished_at``. Windows are half-open ``[start, end)`` instants; days and Monday
weeks are the team's (``tz``). A value over no data is None, never 0.

- Deployment frequency: deployments per week of the window, and DevLake's medians of distinct
  deployment days per Monday week (``m_w``) and per calendar month (``m_m``), which set the band.
- Lead time for changes (``pr`` flavour): per merged pull request shipped by a production
  deployment (``Deployment.shipped_item_ids``; the earliest-starting deployment listing it wins),
  DevLake's ``pr_cycle_time`` in minutes rounded up: coding (first commit -> opened, if known) +
  opened -> merged + deploy (merged -> deployment finished, if not negative). Pull requests first
  shipped by a repo's first-ever deployment have none (no baseline). Windowed by deployment time;
  DevLake lower median. The Four Keys ``commit`` flavour needs commit records, which the model
  does not have.
- Change failure rate: deployments in the window with >= 1 attributed incident, over deployments.
- Failed deployment recovery time: per failed deployment whose incidents are all resolved,
  the last resolution minus the deployment's finish; windowed by that resolution; lower median.
  Rollback/hotfix deployments as recovery (METRICS.md 2.6 (b)) are not detected.
- Rework rate: deployments in the window that are unplanned, over deployments. Unplanned: a shipped
  pull request's title or branch matches ``hotfix|revert|rollback|incident|INC-<n>``, or it links
  an incident, or the deployment started while an attributed incident was open. METRICS.md gives
  no band for it, so its band is None.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from itertools import pairwise

from insights.deployments import (
    PrLeadTime,
    attribute_incidents,
    pr_lead_times,
    production_deployments,
)
from insights.dora_bands import (
    change_failure_band,
    deployment_frequency_band,
    lead_time_band,
    recovery_band,
)
from insights.item_timeline import day_start, local_date, week_start
from insights.model import Deployment, Incident, ItemKind, Snapshot
from insights.percentiles import median

REWORK_PATTERN = re.compile(r"hotfix|revert|rollback|incident|INC-\d+", re.IGNORECASE)
"""What marks a shipped pull request as unplanned work (METRICS.md 2.6, rework rate)."""
_MONTH = timedelta(days=30)
_FOREVER = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Recovery:
    """A failed deployment and when its last incident was resolved."""

    deployment_id: str
    recovered_at: datetime
    seconds: float
    incident_ids: tuple[str, ...]


@dataclass(frozen=True)
class DoraMetrics:
    """The five DORA metrics over one window, with bands and the records behind them."""

    deployment_count: int
    deployment_frequency_per_week: float | None
    deployment_days_median_per_week: float | None
    """DevLake ``m_w``: lower median over the window's Monday weeks of distinct deployment days."""
    deployment_days_median_per_month: float | None
    """DevLake ``m_m``: the same per calendar month."""
    median_hours_between_deploys: float | None
    lead_time_for_changes_seconds_median: float | None
    """DevLake lower median of the pull requests' cycle minutes, times 60."""
    lead_time_for_changes_seconds_median_linear: float | None
    change_failure_rate: float | None
    failed_deployment_recovery_seconds_median: float | None
    time_to_restore_seconds_median: float | None
    """DORA 2021: median of incident resolved - created over incidents resolved in the window."""
    rework_rate: float | None
    bands: dict[str, str | None]
    """``deployment_frequency``, ``lead_time_for_changes``, ``change_failure_rate``,
    ``failed_deployment_recovery_time``, ``rework_rate``: elite/high/medium/low or None."""
    deployment_ids: tuple[str, ...]
    failed_deployment_ids: tuple[str, ...]
    rework_deployment_ids: tuple[str, ...]
    incident_ids: tuple[str, ...]
    """Incidents attributed to the window's deployments."""
    open_incident_ids: tuple[str, ...]
    """Incidents open at the end of the window."""
    lead_times: list[PrLeadTime] = field(default_factory=list)
    recoveries: list[Recovery] = field(default_factory=list)


def _in(at: datetime, start: datetime, end: datetime) -> bool:
    return start <= at < end


def _deployment_day_medians(
    days: set[date], first: date, last: date
) -> tuple[float | None, float | None]:
    """Lower medians of distinct deployment days per Monday week and per month of the window."""
    weeks: dict[date, int] = {}
    months: dict[tuple[int, int], int] = {}
    day = week_start(first)
    while day <= last:
        weeks[day] = 0
        day += timedelta(days=7)
    day = first
    while day <= last:
        months[(day.year, day.month)] = 0
        day = (day.replace(day=1) + timedelta(days=32)).replace(day=1)
    for d in days:
        weeks[week_start(d)] += 1
        months[(d.year, d.month)] += 1
    return (
        median(list(weeks.values()), "devlake_lower_median"),
        median(list(months.values()), "devlake_lower_median"),
    )


def _frequency(
    snapshot: Snapshot, window: Sequence[Deployment], start: datetime, end: datetime, tz: tzinfo
) -> tuple[float | None, float | None, float | None]:
    """Deployments per week and the DevLake medians, or None when there is no deployment data.

    No deployment data at all (no deployment of any kind before ``end``) is None. A connected
    source with no deployment in the window is 0, ranked only when its data spans a month.
    """
    known = [d.finished_at for d in snapshot.deployments if d.finished_at < end]
    if not known:
        return None, None, None
    if not window and min(known) > end - _MONTH:
        return 0.0, None, None
    weeks = (end - start).total_seconds() / (7 * 86400)
    first, last = local_date(start, tz), local_date(end - timedelta(microseconds=1), tz)
    m_w, m_m = _deployment_day_medians({local_date(d.finished_at, tz) for d in window}, first, last)
    return len(window) / weeks, m_w, m_m


def _open_incident_spans(incidents: Iterable[Incident]) -> list[tuple[datetime, datetime]]:
    """The merged intervals during which some attributed incident was open."""
    merged: list[tuple[datetime, datetime]] = []
    spans = sorted(
        (i.created_at, i.resolved_at or _FOREVER) for i in incidents if i.deployment_id is not None
    )
    for created, resolved in spans:
        if merged and created <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], resolved))
        else:
            merged.append((created, resolved))
    return merged


def unplanned_deployments(
    deployments: Sequence[Deployment], snapshot: Snapshot, incidents: Sequence[Incident]
) -> set[str]:
    """Ids of the ``deployments`` that are rework (see the module docstring).

    ``incidents`` must already be attributed (:func:`attribute_incidents`).
    """
    if not deployments:
        return set()  # nothing deployed: no need to index the pull requests
    pulls = {i.id: i for i in snapshot.items if i.kind is ItemKind.PULL_REQUEST}
    natives = {i.id.split(":", 2)[-1].lower() for i in incidents}
    spans = _open_incident_spans(incidents)
    starts = [s for s, _ in spans]
    out = set()
    for d in deployments:
        at = d.started_at or d.finished_at
        position = bisect_right(starts, at) - 1
        if position >= 0 and at < spans[position][1]:
            out.add(d.id)
            continue
        for item_id in d.shipped_item_ids:
            pr = pulls.get(item_id)
            if pr is None:
                continue
            text = f"{pr.title} {pr.head_branch or ''}"
            if REWORK_PATTERN.search(text) or {k.lower() for k in pr.linked_keys} & natives:
                out.add(d.id)
                break
    return out


def _recoveries(
    deployments: Sequence[Deployment],
    by_deployment: dict[str, list[Incident]],
    start: datetime,
    end: datetime,
) -> list[Recovery]:
    out = []
    for d in deployments:
        linked = by_deployment.get(d.id)
        if not linked or any(i.resolved_at is None for i in linked):
            continue
        recovered = max(i.resolved_at for i in linked if i.resolved_at is not None)
        if _in(recovered, start, end) and recovered >= d.finished_at:
            seconds = (recovered - d.finished_at).total_seconds()
            out.append(Recovery(d.id, recovered, seconds, tuple(i.id for i in linked)))
    return out


def dora_metrics(
    snapshot: Snapshot,
    start: datetime,
    end: datetime,
    tz: tzinfo,
    bots: Collection[str] = (),
) -> DoraMetrics:
    """The DORA metrics of ``snapshot`` over ``[start, end)`` (see the module docstring)."""
    if end <= start:
        raise ValueError(f"end ({end}) must be after start ({start})")
    deployments = production_deployments(snapshot.deployments)
    window = [d for d in deployments if _in(d.finished_at, start, end)]
    incidents = attribute_incidents(snapshot.deployments, snapshot.incidents)
    by_deployment: dict[str, list[Incident]] = {}
    for incident in incidents:
        if incident.deployment_id is not None:
            by_deployment.setdefault(incident.deployment_id, []).append(incident)

    count = len(window)
    per_week, m_w, m_m = _frequency(snapshot, window, start, end, tz)
    gaps = [(b.finished_at - a.finished_at).total_seconds() / 3600 for a, b in pairwise(window)]
    lead = [p for p in pr_lead_times(snapshot, bots) if _in(p.deployed_at, start, end)]
    lead_seconds = [p.cycle_minutes * 60.0 for p in lead]
    failed = [d.id for d in window if d.id in by_deployment]
    rework = sorted(unplanned_deployments(window, snapshot, incidents))
    recoveries = _recoveries(deployments, by_deployment, start, end)
    restore = [
        (i.resolved_at - i.created_at).total_seconds()
        for i in incidents
        if i.resolved_at is not None
        and _in(i.resolved_at, start, end)
        and i.resolved_at >= i.created_at
    ]
    lead_median = median(lead_seconds, "devlake_lower_median")
    cfr = len(failed) / count if count else None
    recovery_median = median([r.seconds for r in recoveries], "devlake_lower_median")
    return DoraMetrics(
        deployment_count=count,
        deployment_frequency_per_week=per_week,
        deployment_days_median_per_week=m_w,
        deployment_days_median_per_month=m_m,
        median_hours_between_deploys=median(gaps, "devlake_lower_median"),
        lead_time_for_changes_seconds_median=lead_median,
        lead_time_for_changes_seconds_median_linear=median(lead_seconds),
        change_failure_rate=cfr,
        failed_deployment_recovery_seconds_median=recovery_median,
        time_to_restore_seconds_median=median(restore, "devlake_lower_median"),
        rework_rate=len(rework) / count if count else None,
        bands={
            "deployment_frequency": deployment_frequency_band(m_w, m_m),
            "lead_time_for_changes": lead_time_band(lead_median),
            "change_failure_rate": change_failure_band(cfr),
            "failed_deployment_recovery_time": recovery_band(recovery_median),
            "rework_rate": None,
        },
        deployment_ids=tuple(d.id for d in window),
        failed_deployment_ids=tuple(failed),
        rework_deployment_ids=tuple(rework),
        incident_ids=tuple(i.id for d in window for i in by_deployment.get(d.id, ())),
        open_incident_ids=tuple(
            i.id
            for i in incidents
            if i.created_at < end and (i.resolved_at is None or i.resolved_at >= end)
        ),
        lead_times=lead,
        recoveries=recoveries,
    )


@dataclass(frozen=True)
class DoraWeek:
    """The weekly DORA trend: deployments, lead time and failure rate of one Monday week."""

    week_start: date
    deployments: int
    lead_time_seconds_median: float | None
    change_failure_rate: float | None
    deployment_ids: tuple[str, ...] = ()


def dora_weekly(
    snapshot: Snapshot, start: date, end: date, tz: tzinfo, bots: Collection[str] = ()
) -> list[DoraWeek]:
    """One :class:`DoraWeek` per Monday week overlapping the days ``[start, end)``.

    The first and last weeks only cover their days inside the window.
    """
    if end <= start:
        raise ValueError(f"end ({end}) must be after start ({start})")
    deployments = production_deployments(snapshot.deployments)
    finishes = [d.finished_at for d in deployments]
    attributed = {
        i.deployment_id
        for i in attribute_incidents(snapshot.deployments, snapshot.incidents)
        if i.deployment_id is not None
    }
    lead = pr_lead_times(snapshot, bots)
    deployed = [p.deployed_at for p in lead]
    out = []
    monday = week_start(start)
    while monday < end:
        lo = day_start(max(monday, start), tz)
        hi = day_start(min(monday + timedelta(days=7), end), tz)
        shipped = deployments[bisect_left(finishes, lo) : bisect_left(finishes, hi)]
        seconds = [
            p.cycle_minutes * 60.0
            for p in lead[bisect_left(deployed, lo) : bisect_left(deployed, hi)]
        ]
        failed = sum(1 for d in shipped if d.id in attributed)
        out.append(
            DoraWeek(
                week_start=monday,
                deployments=len(shipped),
                lead_time_seconds_median=median(seconds, "devlake_lower_median"),
                change_failure_rate=failed / len(shipped) if shipped else None,
                deployment_ids=tuple(d.id for d in shipped),
            )
        )
        monday += timedelta(days=7)
    return out
