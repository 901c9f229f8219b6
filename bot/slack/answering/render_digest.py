"""Block Kit for the scheduled digests: the daily "needs attention" and the weekly look back.

The daily digest lists the findings grouped by severity, each with its item, evidence and action;
the weekly one compares the week with the team's own baseline and adds DORA and a forecast.
Both return None when there is nothing worth a message.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from bot.slack import ids
from bot.slack.answering.answers import Trend
from bot.slack.answering.blocks import (
    Message,
    actions,
    button,
    context,
    divider,
    escape,
    fields,
    fit,
    header,
    link,
    list_sections,
    section,
    slack_date,
)
from bot.slack.answering.render import days, dora_fields, forecast_note, show_all_value
from bot.slack.answering.render_alerts import ICONS, evidence_text
from insights.dora import DoraMetrics
from insights.findings import Finding, Severity
from insights.forecast import ForecastBasis, WhenForecast
from insights.report import Digest

PER_SEVERITY = 6
EVIDENCE_IN_DIGEST = 2
SEVERITY_TITLES = {
    Severity.CRITICAL: "Critical",
    Severity.WARN: "Needs attention",
    Severity.INFO: "Worth knowing",
}
FORECAST_ITEMS = 10


def finding_entry(finding: Finding) -> str:
    """A finding in a digest: linked title, evidence, then the action on its own line."""
    evidence = evidence_text(finding.evidence, limit=EVIDENCE_IN_DIGEST)
    first = f"• {link(finding.url, finding.title)}" + (f" _({evidence})_" if evidence else "")
    return f"{first}\n      → {escape(finding.action)}"


def render_daily(
    team: str, day: date, digest: Digest, findings: Sequence[Finding]
) -> Message | None:
    """The daily "needs attention" digest for the team's ``day`` (None without findings)."""
    if not findings:
        return None
    blocks: list[Any] = [
        header(f"Needs attention · {team} · {day:%a %d %b}"),
        context(
            f"{len(findings)} finding(s) · WIP {digest.wip}"
            + (f" of {digest.wip_limit}" if digest.wip_limit else "")
            + f" · cycle time p85 {days(digest.cycle_time_seconds_p85)}"
            + f" · as of {slack_date(digest.as_of)}"
        ),
    ]
    for severity in (Severity.CRITICAL, Severity.WARN, Severity.INFO):
        group = [f for f in findings if f.severity is severity]
        if not group:
            continue
        blocks.append(section(f"{ICONS[severity]} *{SEVERITY_TITLES[severity]} ({len(group)})*"))
        blocks += list_sections([finding_entry(f) for f in group[:PER_SEVERITY]])
        if len(group) > PER_SEVERITY:
            blocks.append(context(f"and {len(group) - PER_SEVERITY} more."))
    if any(len([f for f in findings if f.severity is s]) > PER_SEVERITY for s in SEVERITY_TITLES):
        blocks.append(
            actions(button("Show all findings", ids.SHOW_ALL, show_all_value("findings", team)))
        )
    counts = ", ".join(
        f"{sum(1 for f in findings if f.severity is s)} {s.value}" for s in SEVERITY_TITLES
    )
    return fit(f"{team} needs attention: {counts}", blocks)


def trend_text(trend: Trend) -> str:
    """``12 (▲ 25% vs usual 9.6)``: the value, its direction and the baseline."""
    if trend.current is None:
        return "n/a"
    value = f"{trend.current:.1f}".removesuffix(".0")
    if trend.baseline is None or trend.baseline == 0:
        return f"{value} {trend.unit}"
    change = (trend.current - trend.baseline) / trend.baseline
    arrow = "▲" if change > 0 else ("▼" if change < 0 else "=")
    better = (change > 0) == trend.higher_is_better
    verdict = "" if abs(change) < 0.05 else (" better" if better else " worse")
    return (
        f"{value} {trend.unit} ({arrow} {abs(change) * 100:.0f}%{verdict} "
        f"vs usual {trend.baseline:.1f})"
    )


def render_weekly(
    team: str,
    day: date,
    now: datetime,
    trends: Sequence[Trend],
    dora: DoraMetrics | None,
    forecast: WhenForecast | None,
    basis: ForecastBasis,
    findings: Sequence[Finding],
) -> Message | None:
    """The weekly digest (None when the team had no flow at all this week and nothing is open).

    ``forecast`` says when the next items will be done; ``basis`` is what it drew on.
    """
    moving = any(t.current for t in trends if t.unit == "items")
    if not moving and not findings:
        return None
    week = day.isocalendar()
    blocks: list[Any] = [
        header(f"Week {week.week} · {team}"),
        context(f"The last 7 days against the {team} baseline · as of {slack_date(now)}"),
        fields([(t.label, trend_text(t)) for t in trends]),
    ]
    if dora is not None and dora.deployment_count:
        blocks += [divider(), section("*Delivery (DORA, last 7 days)*"), fields(dora_fields(dora))]
    if forecast is not None:
        p85 = forecast.dates.get(85)
        when = "beyond the forecast horizon" if p85 is None else f"{p85:%a %d %b}"
        blocks.append(
            context(
                f"Forecast: the next {forecast.n} items are 85% likely done by {when}. "
                + forecast_note(basis)
            )
        )
    if findings:
        top = [f"{ICONS[f.severity]} {escape(f.title)}" for f in findings[:5]]
        blocks += [divider(), section(f"*Open findings ({len(findings)})*"), *list_sections(top)]
    summary = "; ".join(f"{t.label}: {trend_text(t)}" for t in trends)
    return fit(f"Week {week.week} for {team}: {summary}", blocks)
