"""Block Kit for the scheduled digests: the daily a person reads in 30 seconds, the weekly trends.

The daily digest names at most five focus items (the subjects that cost most to leave waiting,
:func:`insights.subjects.focus`), one line each: the item, why, who can act and what to do; then
what changed since the last digest (new, resolved and still open subjects, with their keys); then
one line of flow numbers against the week before, with a "Why?" menu, and every finding behind a
button. The weekly digest shows trends, not findings: each figure with its change from last week
and an XmR verdict (:mod:`insights.weekly_trends`), the one bottleneck to discuss at the
retrospective, and where the value stream's time goes (the ``value_stream`` detector's finding).
Both return None when there is nothing worth a message.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from bot.config import TeamConfig
from bot.people import People
from bot.slack import ids
from bot.slack.answering.answers import SubjectChanges
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
from bot.slack.answering.render import days, forecast_note, show_all_value, why_menu
from bot.slack.answering.render_alerts import ICONS, evidence_text
from bot.working_time import working_age
from insights.findings import Finding
from insights.forecast import ForecastBasis, WhenForecast
from insights.report import TeamReport
from insights.subjects import TEAM_SUBJECT, FocusItem
from insights.weekly_trends import Queue, WeeklyTrend

EVIDENCE_IN_DIGEST = 2
DAY = 86400.0
FORECAST_ITEMS = 10
FLOW_WINDOW_DAYS = 7
"""The daily's flow line: the last seven days against the seven before."""
KEYS_SHOWN = 4
"""Keys named per "since the last digest" group before "+N"."""
FOCUS_RULE = (
    "Focus: the items that cost most to leave waiting. Cost of delay = severity (warn 1, "
    "critical 2) + age ÷ the team's p85 cycle time + 1 if blocked + 0.5 per person waiting "
    "(items it blocks, reviewers its pull request waits on)."
)
FLOW_TRENDS = ("cycle_time", "throughput_items", "wip", "flow_efficiency")
"""The weekly's flow figures; the others are delivery (DORA)."""


def finding_entry(finding: Finding) -> str:
    """A finding in a list: linked title, evidence, then the action on its own line."""
    evidence = evidence_text(finding.evidence, limit=EVIDENCE_IN_DIGEST)
    first = f"• {link(finding.url, finding.title)}" + (f" _({evidence})_" if evidence else "")
    return f"{first}\n      → {escape(finding.action)}"


def _instant(value: float | int | str | None) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.tzinfo is not None else None


def focus_reason(finding: Finding, team: TeamConfig, now: datetime) -> str:
    """Why the item is in focus, short, from its chosen reason (waits in working time)."""
    chosen = finding.reasons[0] if finding.reasons else finding
    evidence = chosen.evidence
    if chosen.detector == "blocked_item" and (since := _instant(evidence.get("blocked_since"))):
        why = escape(str(evidence.get("reasons", "")))
        return f"blocked for {working_age(since, now, team)}" + (f" ({why})" if why else "")
    if chosen.detector == "stale_item" and (since := _instant(evidence.get("last_change_at"))):
        status = escape(str(evidence.get("status", "")))
        return f"no change for {working_age(since, now, team)}" + (
            f" (still {status})" if status else ""
        )
    if chosen.detector == "pr_waiting_review" and (
        since := _instant(evidence.get("waiting_since"))
    ):
        return f"{escape(chosen.subject)} has waited {working_age(since, now, team)} for review"
    if chosen.detector == "pr_review_long" and (since := _instant(evidence.get("first_review_at"))):
        return f"{escape(chosen.subject)} in review for {working_age(since, now, team)}, not merged"
    if chosen.detector == "pr_approved_unmerged" and (
        since := _instant(evidence.get("approved_at"))
    ):
        return f"{escape(chosen.subject)} approved {working_age(since, now, team)} ago, not merged"
    title = chosen.title.removeprefix(f"{finding.subject} ").split(";")[0]
    return escape(title)


def focus_line(item: FocusItem, team: TeamConfig, now: datetime, people: People) -> str:
    """One line: icon, linked key, why, who can act, and what to do."""
    finding = item.finding
    return (
        f"{ICONS[finding.severity]} *{link(finding.url, finding.subject)}* "
        f"{focus_reason(finding, team, now)} · {people.who(finding)} → "
        f"{escape(short_action(finding.action))}"
    )


def short_action(action: str) -> str:
    """An action's first clause ("Say whether PAY-1 is still being worked on"): the card has all."""
    head, colon, _ = action.partition(": ")
    return f"{head}." if colon else action


def subject_label(finding: Finding) -> str:
    """A subject as its key: the linked item key, or a team finding's detector (and status)."""
    if finding.subject != TEAM_SUBJECT:
        return link(finding.url, finding.subject)
    status = finding.evidence.get("status")
    label = finding.detector.replace("_", " ")
    return escape(f"{label} ({status})" if status else label)


def keys_text(findings: Sequence[Finding], shown: int = KEYS_SHOWN) -> str:
    """``PAY-1, PAY-2, net flow +3``: a few subjects by key, then how many more."""
    keys = ", ".join(subject_label(f) for f in findings[:shown])
    more = len(findings) - shown
    return keys + (f" +{more}" if more > 0 else "")


def changes_text(changes: SubjectChanges, in_focus: Collection[str] = ()) -> str:
    """The "since the last digest" section: new, resolved and still open, counts and keys.

    Subjects whose dedupe key is ``in_focus`` are counted but not named again.
    """
    lines = [f"*Since the last digest* ({slack_date(changes.since)})"]
    for name, group in (
        ("New", changes.new),
        ("Resolved", changes.resolved),
        ("Still open", changes.still_open),
    ):
        named = [f for f in group if f.dedupe_key not in in_focus]
        parts = [keys_text(named)] if named else []
        if len(named) < len(group):
            parts.append(f"{len(group) - len(named)} in focus above")
        lines.append(f"• {name} ({len(group)})" + (f": {'; '.join(parts)}" if parts else ""))
    return "\n".join(lines)


def versus(
    current: float | None, before: float | None, than: str, digits: int = 0, unit: str = ""
) -> str:
    """`` (▲2 vs last week)``, `` (same as last week)``, or nothing when either is unknown."""
    if current is None or before is None:
        return ""
    delta = round(current - before, digits)
    if delta == 0:
        return f" (same as {than})"
    shown = f"{abs(delta):.{digits}f}"
    unit = unit.removesuffix("s") if shown == "1" else unit
    return f" ({'▲' if delta > 0 else '▼'}{shown}{unit} vs {than})"


def flow_figures(report: TeamReport, previous: TeamReport) -> list[tuple[str, str, str]]:
    """``(metric, label, text)`` of the daily's flow line: finished, WIP and cycle time p85."""
    now, before = report.metrics, previous.metrics
    window = report.window_days
    finished, wip, limit = now["throughput_items"], now["wip"], now["wip_limit"]
    p85, p85_before = now["cycle_time_seconds_p85"], before["cycle_time_seconds_p85"]
    p85_days = None if p85 is None else p85 / DAY
    p85_before_days = None if p85_before is None else p85_before / DAY
    return [
        (
            "throughput_items",
            f"finished {finished}",
            f"Finished {finished}"
            + versus(finished, before["throughput_items"], f"the {window} days before"),
        ),
        (
            "wip",
            f"WIP {wip}",
            f"WIP {wip}"
            + (f" of limit {limit}" if limit else "")
            + versus(wip, before["wip"], f"{window} days ago"),
        ),
        (
            "cycle_time",
            f"cycle time p85 {days(p85)}",
            f"cycle time p85 {days(p85)}"
            + versus(p85_days, p85_before_days, f"{window} days ago", digits=1, unit=" d"),
        ),
    ]


def render_daily(
    team: TeamConfig,
    now: datetime,
    report: TeamReport,
    previous: TeamReport,
    changes: SubjectChanges,
    people: People,
) -> Message | None:
    """The daily digest at ``now``; None when there is nothing new and nothing in focus.

    ``report`` is over the flow window at ``now``, ``previous`` over the window before it.
    With ``digest.skip_when_nothing_new`` off, only a team with no subject at all gets nothing.
    """
    focus, subjects = report.focus, report.subjects
    quiet = not changes.new if team.digest.skip_when_nothing_new else not subjects
    if not focus and quiet:
        return None
    day = now.astimezone(team.zone).date()
    blocks: list[Any] = [header(f"{team.name} · {day:%a %d %b}")]
    if focus:
        blocks.append(section(f"*Focus today ({len(focus)})*"))
        blocks += list_sections([focus_line(f, team, now, people) for f in focus])
        blocks.append(context(FOCUS_RULE))
    else:
        blocks.append(section("*Focus today*: nothing at warn level or above waits on anyone."))
    in_focus = {f.finding.dedupe_key for f in focus}
    blocks += [divider(), section(changes_text(changes, in_focus))]
    figures = flow_figures(report, previous)
    flow = f"*Flow, last {report.window_days} days:* " + " · ".join(t for _, _, t in figures)
    menu = why_menu(team.name, report.window_days, [(label, m) for m, label, _ in figures])
    blocks.append(section(flow, menu))
    if subjects:
        label = f"All {len(subjects)} findings"
        blocks.append(actions(button(label, ids.SHOW_ALL, show_all_value("findings", team.name))))
    summary = (
        f"{team.name} needs attention: {len(focus)} focus item(s), "
        f"{len(changes.new)} new since the last digest"
    )
    return fit(summary, blocks)


def _number(value: float, unit: str) -> str:
    if unit == "%":
        return f"{value:.0f}%"
    return f"{value:.1f}".removesuffix(".0")


def _limits(trend: WeeklyTrend) -> str:
    limits = trend.limits
    if limits is None:
        return ""
    return f"{_number(limits.lower, trend.unit)} to {_number(limits.upper, trend.unit)}"


def verdict_text(trend: WeeklyTrend) -> str:
    """``noise: within the usual 2 to 9``, ``*signal*: above the usual 2 to 9`` and the like."""
    signal = trend.signal
    if trend.verdict == "no data":
        return "no data this week"
    if trend.verdict == "too few weeks":
        return "too few weeks yet for a verdict"
    if trend.verdict == "noise" or signal is None or trend.limits is None:
        return f"noise: within the usual {_limits(trend)}"
    better = (signal.side == "above") == trend.higher_is_better
    head = f"*signal* ({'better' if better else 'worse'})"
    if signal.rule == "outside_limits":
        return f"{head}: {signal.side} the usual {_limits(trend)}"
    if signal.rule == "range":
        jump = _number(trend.limits.upper_range, trend.unit)
        return f"{head}: a jump from last week of more than the usual {jump}"
    if signal.rule == "three_of_four":
        limit = "upper" if signal.side == "above" else "lower"
        return f"{head}: 3 of the last 4 weeks near the {limit} limit"
    mean = _number(trend.limits.mean, trend.unit)
    return f"{head}: 8 weeks in a row {signal.side} the average {mean}"


def trend_value(trend: WeeklyTrend) -> str:
    """``5 items (▲2 vs last week)``: this week's value and its change."""
    if trend.current is None:
        return "n/a"
    unit = "" if trend.unit == "%" else f" {trend.unit}"
    whole = trend.unit in ("%", "per week") or trend.metric == "throughput_items"
    change = versus(
        trend.current,
        trend.previous,
        "last week",
        digits=0 if whole else 1,
        unit=" pts" if trend.unit == "%" else "",
    )
    return f"{_number(trend.current, trend.unit)}{unit}{change}"


def trend_field(trend: WeeklyTrend) -> tuple[str, str]:
    """A field: the figure, its value and change, and the verdict."""
    return trend.label, f"{trend_value(trend)}\n{verdict_text(trend)}"


def bottleneck_text(bottleneck: Finding | Queue) -> str:
    """The one bottleneck to discuss at the retrospective, and what to try."""
    title = "*The one bottleneck to discuss at the retrospective*"
    if isinstance(bottleneck, Queue):
        return (
            f"{title}\nMost items wait in {escape(bottleneck.status)} now "
            f"({bottleneck.items}). Ask why they wait there, and what would pull them through."
        )
    return f"{title}\n{escape(bottleneck.title)}\n→ {escape(bottleneck.action)}"


def where_time_goes_text(finding: Finding) -> str:
    """The value stream's hotspot: its share of lead time and its change, and what to try."""
    return f"*Where the time goes*\n{escape(finding.title)}\n→ {escape(finding.action)}"


def _week_span(trends: Sequence[WeeklyTrend], day: date) -> str:
    first = trends[0].weeks[-1] if trends and trends[0].weeks else day - timedelta(days=7)
    last = first + timedelta(days=6)
    return f"{first:%a %d %b} to {last:%a %d %b}"


def render_weekly(
    team: str,
    day: date,
    now: datetime,
    trends: Sequence[WeeklyTrend],
    bottleneck: Finding | Queue | None,
    forecast: WhenForecast | None,
    basis: ForecastBasis,
    where_time_goes: Finding | None = None,
) -> Message | None:
    """The weekly digest (None when no figure has a value this week and nothing waits).

    ``forecast`` says when the next items will be done; ``basis`` is what it drew on;
    ``where_time_goes`` is the ``value_stream`` detector's finding, when it has one.
    """
    if not any(t.current for t in trends) and bottleneck is None and where_time_goes is None:
        return None
    week = day.isocalendar()
    baseline = max((len(t.weeks) - 1 for t in trends), default=0)
    flow = [trend_field(t) for t in trends if t.metric in FLOW_TRENDS]
    delivery = [trend_field(t) for t in trends if t.metric not in FLOW_TRENDS]
    blocks: list[Any] = [
        header(f"Week {week.week} · {team}"),
        context(
            f"The last 7 days ({_week_span(trends, day)}) against the week before. "
            f"Signal or noise: this week against the natural process limits (XmR) of up to "
            f"{baseline} weeks before it; noise is the usual variation, nothing to react to. "
            f"As of {slack_date(now)}."
        ),
    ]
    if flow:
        blocks += [section("*Flow*"), fields(flow)]
    if delivery:
        blocks += [section("*Delivery (DORA)*"), fields(delivery)]
    if bottleneck is not None:
        blocks += [divider(), section(bottleneck_text(bottleneck))]
    if where_time_goes is not None:
        blocks += [divider(), section(where_time_goes_text(where_time_goes))]
    if forecast is not None:
        p85 = forecast.dates.get(85)
        when = "beyond the forecast horizon" if p85 is None else f"{p85:%a %d %b}"
        blocks.append(
            context(
                f"Forecast: the next {forecast.n} items are 85% likely done by {when}. "
                + forecast_note(basis)
            )
        )
    summary = "; ".join(
        f"{t.label} {trend_value(t)} ({t.verdict})" for t in trends if t.current is not None
    )
    return fit(f"Week {week.week} for {team}: {summary}", blocks)
