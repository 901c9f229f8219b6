"""The ``vsm report --json`` document of a :class:`~insights.report.TeamReport`.

The schema is documented in the README (and pinned by ``tests/report_schema.json``); instants are
ISO 8601 in UTC with a ``Z``. :func:`finding_to_json` is also the shape the Slack alert store keeps.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from insights.dora import DoraMetrics
from insights.findings import Finding, Severity
from insights.report import Forecast, TeamReport
from insights.scopes import ScopeForecast, ScopeStatus
from insights.subjects import FocusItem
from insights.value_stream import StepStats, ValueStreamMap

SCHEMA_VERSION = 4
"""2: ``subjects`` (one merged finding per subject), ``focus``, and ``people``/``role`` on
findings were added; ``findings`` still holds every detector's own findings. 3: ``value_stream``
(the team's value stream map over the window) was added. 4: ``scopes`` (each tracked epic or
label: its forecast and, when at risk, why) was added."""


def _iso(value: datetime | date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return value.isoformat()


def finding_to_json(finding: Finding) -> dict[str, Any]:
    """A finding as the JSON object of the report (and of the Slack alert store)."""
    return {
        "detector": finding.detector,
        "severity": finding.severity.value,
        "subject": finding.subject,
        "title": finding.title,
        "action": finding.action,
        "evidence": dict(finding.evidence),
        "item_keys": list(finding.item_keys),
        "url": finding.url,
        "dedupe_key": finding.dedupe_key,
        "people": list(finding.people),
        "role": finding.role,
        **({"reasons": [finding_to_json(r) for r in finding.reasons]} if finding.reasons else {}),
    }


def finding_from_json(data: Mapping[str, Any]) -> Finding:
    """The finding of :func:`finding_to_json` (older stored shapes without people read too)."""
    return Finding(
        detector=data["detector"],
        severity=Severity(data["severity"]),
        subject=data["subject"],
        title=data["title"],
        action=data["action"],
        dedupe_key=data["dedupe_key"],
        evidence=dict(data.get("evidence", {})),
        item_keys=tuple(data.get("item_keys", ())),
        url=data.get("url"),
        people=tuple(data.get("people", ())),
        role=data.get("role", ""),
        reasons=tuple(finding_from_json(r) for r in data.get("reasons", ())),
    )


def _focus_json(item: FocusItem) -> dict[str, Any]:
    return {
        "subject": item.finding.subject,
        "dedupe_key": item.finding.dedupe_key,
        "cost": item.cost,
        "age_days": None if item.age_days is None else round(item.age_days, 2),
        "age_ratio": round(item.age_ratio, 3),
        "blocked": item.blocked,
        "people_waiting": item.people_waiting,
    }


def _dora_json(dora: DoraMetrics) -> dict[str, Any]:
    return {
        "deployment_count": dora.deployment_count,
        "deployment_frequency_per_week": dora.deployment_frequency_per_week,
        "deployment_days_median_per_week": dora.deployment_days_median_per_week,
        "deployment_days_median_per_month": dora.deployment_days_median_per_month,
        "lead_time_for_changes_seconds_median": dora.lead_time_for_changes_seconds_median,
        "change_failure_rate": dora.change_failure_rate,
        "failed_deployment_recovery_seconds_median": (
            dora.failed_deployment_recovery_seconds_median
        ),
        "time_to_restore_seconds_median": dora.time_to_restore_seconds_median,
        "rework_rate": dora.rework_rate,
        "bands": dict(dora.bands),
        "deployment_ids": list(dora.deployment_ids),
        "failed_deployment_ids": list(dora.failed_deployment_ids),
        "incident_ids": list(dora.incident_ids),
    }


def _forecast_json(forecast: Forecast) -> dict[str, Any]:
    when = forecast.when
    how_many = forecast.how_many
    return {
        "basis_days": forecast.basis_days,
        "when": None
        if when is None
        else {
            "items": when.n,
            "start": _iso(when.start),
            "dates": {f"p{c}": _iso(d) for c, d in sorted(when.dates.items())},
        },
        "how_many": None
        if how_many is None
        else {
            "start": _iso(how_many.start),
            "target": _iso(how_many.target),
            "items": {f"p{c}": n for c, n in sorted(how_many.counts.items())},
        },
    }


def _step_json(stats: StepStats) -> dict[str, Any]:
    step = stats.step
    return {
        "name": step.name,
        "from": step.start,
        "to": step.end,
        "measure": step.measure,
        "items": stats.items,
        "missing": stats.missing,
        "backwards": stats.backwards,
        "lead_seconds_p50": stats.lead_seconds_p50,
        "lead_seconds_p85": stats.lead_seconds_p85,
        "process_seconds_p50": stats.process_seconds_p50,
        "process_seconds_p85": stats.process_seconds_p85,
        "wait_seconds_p50": stats.wait_seconds_p50,
        "wait_seconds_p85": stats.wait_seconds_p85,
        "lead_seconds_total": stats.lead_seconds_total,
        "process_seconds_total": stats.process_seconds_total,
        "wait_share": stats.wait_share,
        "complete_accurate": stats.complete_accurate,
        "item_keys": list(stats.item_keys),
    }


def _value_stream_json(stream: ValueStreamMap | None) -> dict[str, Any] | None:
    if stream is None:
        return None
    hotspot = stream.hotspot
    return {
        "start": _iso(stream.start),
        "end": _iso(stream.end),
        "steps": [_step_json(s) for s in stream.steps],
        "items": stream.items,
        "no_pr": stream.no_pr,
        "lead_seconds_p50": stream.lead_seconds_p50,
        "lead_seconds_p85": stream.lead_seconds_p85,
        "activity_ratio": stream.activity_ratio,
        "rolled_complete_accurate": stream.rolled_complete_accurate,
        "hotspot": None
        if hotspot is None
        else {
            "step": hotspot.step,
            "part": hotspot.part,
            "share": hotspot.share,
            "previous_share": hotspot.previous_share,
            "change": hotspot.change,
        },
        "item_keys": list(stream.item_keys),
    }


def scope_to_json(forecast: ScopeForecast, at_risk: Finding | None = None) -> dict[str, Any]:
    """A scope's forecast as the JSON object of ``scopes`` (and of ``vsm forecast --json``)."""
    ref = forecast.ref
    return {
        "kind": ref.kind,
        "key": ref.key,
        "name": ref.name,
        "target": _iso(ref.target),
        "done": forecast.done,
        "remaining": forecast.remaining,
        "total": forecast.total,
        "growth_per_week": round(forecast.growth_per_week, 2),
        "dates": {f"p{c}": _iso(d) for c, d in sorted(forecast.dates.items())},
        "probability": None if forecast.probability is None else round(forecast.probability, 3),
        "beyond_horizon": round(forecast.beyond_horizon, 3),
        "basis_days": forecast.basis_days,
        "too_short": forecast.too_short,
        "at_risk": None
        if at_risk is None
        else {"title": at_risk.title, "action": at_risk.action, "evidence": dict(at_risk.evidence)},
    }


def _scope_json(status: ScopeStatus) -> dict[str, Any]:
    return scope_to_json(status.forecast, status.at_risk)


def report_to_json(report: TeamReport) -> dict[str, Any]:
    """The ``vsm report --json`` document (schema documented in the README)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "as_of": _iso(report.as_of),
        "team": report.team,
        "window": {
            "days": report.window_days,
            "start": _iso(report.window_start),
            "end": _iso(report.as_of),
        },
        "metrics": dict(report.metrics),
        "metric_items": {k: list(v) for k, v in report.metric_items.items()},
        "items": [
            {
                "key": i.key,
                "title": i.title,
                "status": i.status,
                "stage": i.stage,
                "started_at": _iso(i.started_at),
                "finished_at": _iso(i.finished_at),
                "cycle_time_seconds": i.cycle_time_seconds,
                "age_seconds": i.age_seconds,
                "blocked_seconds": i.blocked_seconds,
                "url": i.url,
            }
            for i in report.items
        ],
        "daily": [
            {"day": _iso(d.day), "wip": d.wip, "throughput": d.throughput, "cfd": d.cfd}
            for d in report.daily
        ],
        "dora": _dora_json(report.dora),
        "forecast": _forecast_json(report.forecast),
        "findings": [finding_to_json(f) for f in report.findings],
        "subjects": [finding_to_json(f) for f in report.subjects],
        "focus": [_focus_json(f) for f in report.focus],
        "value_stream": _value_stream_json(report.value_stream),
        "scopes": [_scope_json(s) for s in report.scopes],
    }
