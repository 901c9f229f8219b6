"""Block Kit for alerts: a subject's card and buttons, personal DMs, group and overflow summaries.

A card reads top down as a team member on a busy morning wants it: the subject's key (linked to
the item) and its most specific reason; who can act (mentions, :meth:`bot.people.People.who`);
what to do; the subject's other reasons, one line each; then its state (open, acknowledged,
snoozed, resolved) with who did it. Ages a person reads are in the team's working time, labelled
as such. Buttons carry only the alert's id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from bot.config import TeamConfig
from bot.people import People
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
    link,
    list_sections,
    section,
    slack_date,
    web_url,
)
from bot.working_time import working_age
from insights.findings import Finding, Severity
from insights.report_json import finding_from_json
from insights.subjects import TEAM_SUBJECT
from storage.alert_messages import AlertRecord
from storage.health import SourceHealth

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
CARD_EVIDENCE = 3
"""Numbers of the chosen reason a card shows at most."""
WORKING_AGES = {
    "blocked_since": ("blocked_hours", "blocked {} of it"),
    "waiting_since": ("waiting_hours", "waited {} of it"),
    "last_change_at": ("days_without_change", "unchanged {} of it"),
    "approved_at": ("approved_hours_ago", "approved {} ago"),
    "first_review_at": ("review_running_hours", "in review {} of it"),
}
"""Evidence instants a card words as a working-time age, and the calendar figure each replaces.

The title keeps the detector's calendar time ("blocked for 3.9 days"); the card adds how much of
it fell in the team's working hours, labelled as such ("in working time: blocked 1.6 working
days of it")."""
EVIDENCE_WORDS = {
    "blocked_alert_after_hours": "agreed: alert after {} h",
    "review_within_hours": "agreed: review within {} h",
    "review_running_limit_hours": "agreed: review done within {} h",
    "approved_unmerged_hours": "agreed: merge within {} h of approval",
    "stale_after_days": "agreed: a change every {} d",
    "cycle_time_p85_days": "team p85 cycle time {} d",
    "age_days": "age {} d",
    "reviewers": "reviewers: {}",
    "requested_reviewers": "asked: {}",
    "author": "author: {}",
    "changed_lines": "{} lines changed",
}
"""How a card words the evidence numbers it knows; others show as ``name value``."""
UNSHOWN_EVIDENCE = frozenset(
    {"reasons", "status", "assignee", "reason_count", "detectors", "waiting_days"}
)
"""Evidence a card leaves out: the title or the Who line already says it."""
ROLES = {"assignee": "assignee", "reviewer": "reviewers", "author": "author"}
"""How a card words the role of the people it names."""
DM_ROLES = {
    "assignee": "its assignee",
    "reviewer": "a reviewer it waits on",
    "author": "its author",
}
"""How a personal DM words the role of the one person it goes to."""


def evidence_text(evidence: Mapping[str, float | int | str], limit: int = 6) -> str:
    """The first ``limit`` numbers behind a finding: ``age days 6 · p85 days 4.2``."""
    return " · ".join(_number(name, value) for name, value in list(evidence.items())[:limit])


def _number(name: str, value: float | int | str) -> str:
    shown = f"{value:.1f}" if isinstance(value, float) else str(value)
    words = EVIDENCE_WORDS.get(name)
    if words is not None:
        return escape(words.format(shown))
    return f"{escape(name.replace('_', ' '))} {escape(shown)}"


def _instant(value: float | int | str) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def card_evidence(
    finding: Finding, team: TeamConfig | None = None, now: datetime | None = None
) -> str:
    """At most three numbers of the finding's chosen reason, its ages in working time.

    Without ``team`` and ``now`` the ages stay as the detector gave them (calendar time).
    Instants (``…_at``, ``…_since``) and empty values are left out.
    """
    evidence = (finding.reasons[0] if finding.reasons else finding).evidence
    parts: list[str] = []
    replaced: set[str] = set()
    if team is not None and now is not None:
        for name, (calendar_figure, wording) in WORKING_AGES.items():
            since = _instant(evidence.get(name, ""))
            if since is not None:
                age = working_age(since, now, team)
                parts.append("in working time: " + escape(wording.format(age)))
                replaced.add(calendar_figure)
    for name, value in evidence.items():
        hidden = (
            name in replaced
            or name in UNSHOWN_EVIDENCE
            or name.endswith(("_at", "_since"))
            or value == ""
        )
        if not hidden:
            whole = isinstance(value, float) and value.is_integer()
            parts.append(_number(name, int(value) if whole else value))
    return " · ".join(parts[:CARD_EVIDENCE])


def headline(finding: Finding) -> str:
    """The subject's key, linked to the item (http(s) only), with the finding's title; mrkdwn.

    A title that starts with the key reads as one sentence: "<PAY-12> has been blocked…".
    """
    key, title = finding.subject, finding.title
    if not key or key == TEAM_SUBJECT:
        return escape(title)
    rest = title.removeprefix(key) if title.startswith(key) else f" · {title}"
    return link(finding.url, key) + escape(rest)


def subject_line(finding: Finding) -> str:
    """One subject in a list: icon, linked key and title."""
    return f"{ICONS[finding.severity]} {headline(finding)}"


def who_line(finding: Finding, people: People) -> str:
    """``Who (assignee): <@U1>``, or the names not mapped, or that no one is mapped."""
    role = ROLES.get(finding.role) if finding.people else None
    label = f"Who ({role}):" if role else "Who:"
    return f"*{label}* {people.who(finding)}"


def _reason_line(reason: Finding) -> str:
    return f"{ICONS[reason.severity]} {escape(reason.title)}"


def _state_line(record: AlertRecord) -> str:
    who = f" by <@{record.acted_by}>" if record.acted_by else ""
    if record.state == RESOLVED and record.resolved_at is not None:
        return f":white_check_mark: Resolved {slack_date(record.resolved_at)}"
    if record.state == ACKNOWLEDGED and record.acted_at is not None:
        return f":eyes: Acknowledged{who} {slack_date(record.acted_at)}"
    if record.state == SNOOZED and record.snoozed_until is not None:
        return f":zzz: Snoozed{who} until {slack_date(record.snoozed_until)}"
    return f"Open since {slack_date(record.first_seen_at)}"


def _buttons(record: AlertRecord, finding: Finding) -> list[Any]:
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
    return buttons


def render_alert(
    record: AlertRecord,
    people: People,
    team: TeamConfig | None = None,
    now: datetime | None = None,
) -> Message:
    """The card of a subject's alert in its current state (buttons while it is not resolved).

    ``people`` words who can act; with ``team`` and ``now`` the ages are in working time.
    """
    finding = finding_from_json(record.finding)
    if record.state == RESOLVED:
        blocks: list[Any] = [
            section(f":white_check_mark: ~{headline(finding)}~"),
            context(_state_line(record)),
        ]
        return fit("Resolved: " + finding.title, blocks)
    lines = [f"{ICONS[finding.severity]} *{headline(finding)}*"]
    evidence = card_evidence(finding, team, now)
    if evidence:
        lines.append(f"_{evidence}_")
    lines += [who_line(finding, people), f"*What to do:* {escape(finding.action)}"]
    blocks = [section("\n".join(lines))]
    others = [_reason_line(r) for r in finding.reasons[1:]]
    if others:
        blocks.append(context("\n".join(["*Also:*", *others])))
    blocks += [context(_state_line(record)), actions(*_buttons(record, finding))]
    return fit(f"[{finding.severity.value}] {finding.title}", blocks)


def render_personal(
    finding: Finding, channel_id: str, team: TeamConfig | None = None, now: datetime | None = None
) -> Message:
    """A DM to one person who can act: the subject, why, what to do, and where its card is."""
    lines = [f"{ICONS[finding.severity]} *{headline(finding)}*"]
    evidence = card_evidence(finding, team, now)
    if evidence:
        lines.append(f"_{evidence}_")
    lines.append(f"*What to do:* {escape(finding.action)}")
    more = len(finding.reasons) - 1
    also = f", with {more} more reason{'s' if more != 1 else ''} and" if more > 0 else " with"
    lines.append(f"Its card is in <#{channel_id}>{also} the buttons to acknowledge or snooze it.")
    role = DM_ROLES.get(finding.role)
    why = f"as {role} " if role else ""
    note = f"You get this {why}because you turned personal messages on; `/vsm me off` stops them."
    return fit(f"{finding.title}: {finding.action}", [section("\n".join(lines)), context(note)])


def render_group(team: str, findings: Sequence[Finding]) -> Message:
    """The one channel message announcing several new subjects (their cards go in its thread)."""
    lines = [subject_line(f) for f in findings]
    blocks: list[Any] = [header(f"{len(findings)} new findings · {team}")]
    blocks += list_sections(lines[:LIST_LIMIT])
    more = f"{len(lines) - LIST_LIMIT} more; " if len(lines) > LIST_LIMIT else ""
    blocks.append(context(f"{more}each one, with who can act and its buttons, is in this thread."))
    return fit(f"{len(findings)} new findings for {team}", blocks)


def render_overflow(team: str, findings: Sequence[Finding], cap: int) -> Message:
    """The day's one summary of subjects held back by the daily cap."""
    lines = [subject_line(f) for f in findings]
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
