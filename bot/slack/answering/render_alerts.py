"""Block Kit for alerts: a finding's card and buttons, group and overflow summaries, admin notes.

A card shows the finding (severity, title, evidence, action) and its current state (open,
acknowledged, snoozed, resolved) with who did it; buttons carry only the alert's id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.redact import redact
from bot.slack import ids
from bot.slack.answering.blocks import (
    Message,
    actions,
    button,
    context,
    escape,
    fit,
    header,
    list_sections,
    section,
    slack_date,
    web_url,
)
from insights.findings import Finding, Severity
from insights.report_json import finding_from_json
from storage.alert_messages import AlertRecord
from storage.repository import SourceHealth

OPEN = "open"
ACKNOWLEDGED = "acknowledged"
SNOOZED = "snoozed"
RESOLVED = "resolved"
ICONS = {
    Severity.CRITICAL: ":rotating_light:",
    Severity.WARN: ":warning:",
    Severity.INFO: ":information_source:",
}
LIST_LIMIT = 10


def evidence_text(evidence: Mapping[str, float | int | str], limit: int = 6) -> str:
    """The first ``limit`` numbers behind a finding: ``age days 6 · p85 days 4.2``."""
    parts = []
    for name, value in list(evidence.items())[:limit]:
        shown = f"{value:.1f}" if isinstance(value, float) else str(value)
        parts.append(f"{escape(name.replace('_', ' '))} {escape(shown)}")
    return " · ".join(parts)


def finding_line(finding: Finding) -> str:
    """One finding in a list: icon, title, evidence."""
    evidence = evidence_text(finding.evidence)
    return f"{ICONS[finding.severity]} {escape(finding.title)}" + (
        f" _({evidence})_" if evidence else ""
    )


def _state_line(record: AlertRecord) -> str:
    who = f" by <@{record.acted_by}>" if record.acted_by else ""
    if record.state == RESOLVED and record.resolved_at is not None:
        return f":white_check_mark: Resolved {slack_date(record.resolved_at)}"
    if record.state == ACKNOWLEDGED and record.acted_at is not None:
        return f":eyes: Acknowledged{who} {slack_date(record.acted_at)}"
    if record.state == SNOOZED and record.snoozed_until is not None:
        return f":zzz: Snoozed{who} until {slack_date(record.snoozed_until)}"
    return f"Open since {slack_date(record.first_seen_at)}"


def render_alert(record: AlertRecord) -> Message:
    """The card of an alert in its current state (buttons while it is not resolved)."""
    finding = finding_from_json(record.finding)
    resolved = record.state == RESOLVED
    icon = ":white_check_mark:" if resolved else ICONS[finding.severity]
    title = f"~{escape(finding.title)}~" if resolved else f"*{escape(finding.title)}*"
    lines = [f"{icon} {title}"]
    evidence = evidence_text(finding.evidence)
    if evidence:
        lines.append(evidence)
    blocks: list[Any] = [section("\n".join(lines))]
    if not resolved:
        blocks.append(context(f"What to do: {escape(finding.action)}"))
    blocks.append(context(_state_line(record)))
    if not resolved:
        value = str(record.id)
        buttons = []
        if record.state != ACKNOWLEDGED:
            buttons.append(button("Acknowledge", ids.ACKNOWLEDGE, value, style="primary"))
        buttons += [
            button("Snooze 1 day", ids.SNOOZE_DAY, value),
            button("Snooze 1 week", ids.SNOOZE_WEEK, value),
        ]
        url = web_url(finding.url)
        if url is not None:
            buttons.append(button("Open item", ids.OPEN_ITEM, value, url=url))
        blocks.append(actions(*buttons))
    prefix = "Resolved: " if resolved else f"[{finding.severity.value}] "
    return fit(prefix + finding.title, blocks)


def render_group(team: str, findings: Sequence[Finding]) -> Message:
    """The one channel message announcing several new findings (their cards go in its thread)."""
    lines = [finding_line(f) for f in findings]
    blocks: list[Any] = [header(f"{len(findings)} new findings · {team}")]
    blocks += list_sections(lines[:LIST_LIMIT])
    more = f"{len(lines) - LIST_LIMIT} more; " if len(lines) > LIST_LIMIT else ""
    blocks.append(context(f"{more}each one, with its buttons, is in this thread."))
    return fit(f"{len(findings)} new findings for {team}", blocks)


def render_overflow(team: str, findings: Sequence[Finding], cap: int) -> Message:
    """The day's one summary of findings held back by the daily cap."""
    lines = [finding_line(f) for f in findings]
    blocks: list[Any] = [
        section(
            f"*{len(findings)} more finding(s) for {escape(team)}* were not posted: this channel "
            f"had its {cap} alerts for today. They will be posted tomorrow if they still hold."
        )
    ]
    blocks += list_sections(lines[:LIST_LIMIT])
    if len(lines) > LIST_LIMIT:
        blocks.append(context(f"and {len(lines) - LIST_LIMIT} more."))
    return fit(f"{len(findings)} more findings for {team} held back today", blocks)


def render_follow_up(text: str) -> Message:
    """A short note in an alert's thread; ``text`` is mrkdwn, any vendor text in it escaped."""
    return Message(text=text, blocks=[context(text)])


def render_admin_health(health: SourceHealth, reason: str) -> Message:
    """A note to an admin that a source is failing or stale."""
    last_success = slack_date(health.last_success_at) if health.last_success_at else "never"
    lines = [
        f":rotating_light: *{escape(health.source_key)}* {reason}.",
        f"Last success: {last_success}.",
    ]
    if health.last_error:
        error = escape(redact(health.last_error))  # rows stored before scrubbing, too
        lines.append(f"Last error ({health.consecutive_failures} in a row): {error}")
    lines.append("Check its settings and credentials in app.yaml, then `vsm sync` to retry.")
    return fit(f"{health.source_key} {reason}", [section("\n".join(lines))])
