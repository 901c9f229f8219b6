"""Block Kit replies to ``/vsm`` commands: help, usage, flow, item lists, pull requests, status.

Pure functions from the answer data to a :class:`~bot.slack.answering.blocks.Message`. Lists
show the first few entries, then a count and a "Show all" button; every message has a plain-text
fallback. The figures of ``/vsm flow`` and ``/vsm dora`` carry a ⋯ menu with a "Why?" option per
figure (:func:`why_menu`), answered by :mod:`bot.slack.answering.explain`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from slack_sdk.models.blocks import Option, OverflowMenuElement

from bot.redact import redact
from bot.slack import ids
from bot.slack.answering.answers import PullRequestLine
from bot.slack.answering.blocks import (
    BUTTON_CHARS,
    Message,
    actions,
    button,
    clip,
    context,
    escape,
    fields,
    fit,
    header,
    link,
    list_sections,
    section,
    slack_date,
)
from bot.slack.receiving.parser import USAGES, Usage
from insights.dora import DoraMetrics
from insights.forecast import ForecastBasis, HowManyForecast, WhenForecast
from insights.report import Digest, ItemLine
from storage.health import SourceHealth
from storage.webhooks import WebhookHealth

DAY = 86400.0
LIST_LIMIT = 10
PERCENTILES = (50, 70, 85, 95)
MENU_OPTIONS = 5
"""Slack's limit of options in an overflow menu."""
WHY_HINT = "⋯ shows the items behind each number"


def days(seconds: float | None) -> str:
    """Seconds as days with one decimal (``n/a`` when unknown)."""
    return "n/a" if seconds is None else f"{seconds / DAY:.1f} d"


def ago(now: datetime, when: datetime | None) -> str:
    """How long before ``now`` (``never`` when unknown)."""
    if when is None:
        return "never"
    seconds = max(0.0, (now - when).total_seconds())
    if seconds < 3600:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 2 * DAY:
        return f"{seconds / 3600:.0f} h ago"
    return f"{seconds / DAY:.0f} days ago"


def notice(text: str) -> Message:
    """A one-line reply."""
    return Message(text=text, blocks=[section(text)])


def usage_line(usage: Usage) -> str:
    """One line of help for a command."""
    lock = " :lock:" if usage.admin else ""
    return f"`{ids.COMMAND} {usage.syntax}`{lock}\n{usage.summary}"


def render_help(topic: str | None = None) -> Message:
    """All commands, or one command's usage."""
    if topic is not None:
        return Message(
            text=f"{ids.COMMAND} {USAGES[topic].syntax}",
            blocks=[section(usage_line(USAGES[topic]))],
        )
    blocks = [
        header("vsm-bot: where your team's work waits"),
        *list_sections([usage_line(u) for u in USAGES.values()]),
        context(
            "Add `share` to any command to post the answer in the channel. "
            "The team is this channel's team in app.yaml unless you name one. "
            ":lock: admins only."
        ),
    ]
    return fit("vsm-bot commands: " + ", ".join(USAGES), blocks)


def render_usage(command: str | None, problem: str) -> Message:
    """What was wrong, and the usage of the nearest command (all commands when unknown).

    ``problem`` is plain text (it may quote the input): it is escaped here.
    """
    if command is None:
        overview = ", ".join(f"`{name}`" for name in USAGES)
        text = f"{problem} Try one of: {overview}, or `{ids.COMMAND} help`."
    else:
        usage = USAGES[command]
        text = f"{problem}\nUsage: `{ids.COMMAND} {usage.syntax}`\n{usage.summary}"
    return fit(text, [section(escape(text))])


def render_flow(digest: Digest) -> Message:
    """WIP, throughput, cycle time and counts of aging and blocked items, each explained on ⋯."""
    limit = f" (limit {digest.wip_limit})" if digest.wip_limit else ""
    over = " :warning:" if digest.wip_limit and digest.wip > digest.wip_limit else ""
    finished = f"Finished in {digest.window_days} days"
    menu = why_menu(
        digest.team,
        digest.window_days,
        [
            ("WIP", "wip"),
            (finished, "throughput_items"),
            ("Cycle time", "cycle_time"),
            ("Aging", "aging"),
            ("Blocked", "blocked_now"),
        ],
    )
    blocks = [
        header(f"Flow · {digest.team}"),
        fields(
            [
                ("WIP", f"{digest.wip}{limit}{over}"),
                (finished, str(digest.throughput)),
                ("Cycle time p50", days(digest.cycle_time_seconds_p50)),
                ("Cycle time p85", days(digest.cycle_time_seconds_p85)),
                ("Aging", str(len(digest.aging))),
                ("Blocked", str(len(digest.blocked))),
            ],
            menu,
        ),
        context(
            f"As of {slack_date(digest.as_of)} · cycle times of the "
            f"{digest.finished_in_history} items finished in the look-back window · {WHY_HINT}"
        ),
    ]
    text = (
        f"{digest.team}: WIP {digest.wip}{limit}, {digest.throughput} finished in "
        f"{digest.window_days} days, cycle time p85 {days(digest.cycle_time_seconds_p85)}"
    )
    return fit(text, blocks)


def why_menu(
    team: str, window_days: int, figures: Sequence[tuple[str, str]]
) -> OverflowMenuElement:
    """An overflow menu with a "Why?" option per ``(label, metric)`` figure (at most five).

    Each option's value is :func:`~bot.slack.ids.explain_value`: the listener of
    :data:`~bot.slack.ids.EXPLAIN` answers with the items behind that figure.
    """
    return OverflowMenuElement(
        action_id=ids.EXPLAIN,
        options=[
            Option(
                value=ids.explain_value(metric, team, window_days),
                text=clip(f"Why? {label}", BUTTON_CHARS),
            )
            for label, metric in figures[:MENU_OPTIONS]
        ],
    )


def age(age_days: int | None) -> str:
    """Work item age as everyone reads it: calendar days, the start day counting as day 1."""
    if age_days is None:
        return "not started"
    return f"age {age_days} day" if age_days == 1 else f"age {age_days} days"


def item_line(line: ItemLine, ages: Mapping[str, int]) -> str:
    """One work item: linked key, escaped title, status, age (from ``ages`` by key) and why."""
    return (
        f"• {link(line.url, line.key)} {escape(line.title)} — _{escape(line.status)}_, "
        f"{age(ages.get(line.key))} · {escape(line.detail)}"
    )


def pr_line(pr: PullRequestLine) -> str:
    """One open pull request."""
    draft = " (draft)" if pr.draft else ""
    author = f" by {escape(pr.author)}" if pr.author else ""
    return (
        f"• {link(pr.url, pr.key)} {escape(pr.title)}{draft}{author} — open "
        f"{days(pr.age_seconds)}, {pr.review}"
    )


def show_all_value(list_name: str, team: str, window_days: int | None = None) -> str:
    """The value of a "Show all" button: which list, for which team."""
    return f"{list_name}|{team}|{window_days or ''}"


def render_list(
    title: str,
    lines: Sequence[str],
    *,
    empty: str,
    show_all: str | None,
    limit: int = LIST_LIMIT,
    note: str | None = None,
) -> Message:
    """A titled list: the first ``limit`` lines, then a count and a "Show all" button."""
    blocks: list[Any] = [header(title)]
    if not lines:
        blocks.append(section(empty))
    else:
        blocks.extend(list_sections(lines[:limit]))
    if len(lines) > limit:
        more = f"{len(lines) - limit} more not shown."
        blocks.append(context(more))
        if show_all is not None:
            blocks.append(actions(button(f"Show all {len(lines)}", ids.SHOW_ALL, show_all)))
    if note:
        blocks.append(context(note))
    summary = f"{title}: {len(lines)}" if lines else f"{title}: {empty}"
    return fit(summary, blocks)


def render_full_list(title: str, lines: Sequence[str]) -> Message:
    """Every line of a list, in as many sections as needed (``fit`` guards the limits)."""
    return fit(f"{title}: {len(lines)}", [header(title), *list_sections(lines)])


def render_aging(digest: Digest, ages: Mapping[str, int]) -> Message:
    """Items older than the team's usual cycle time; ``ages`` are work item ages in days."""
    return render_list(
        f"Aging items · {digest.team}",
        [item_line(line, ages) for line in digest.aging],
        empty="Nothing is older than the team usually takes. :tada:",
        show_all=show_all_value("aging", digest.team),
    )


def render_blocked(digest: Digest, ages: Mapping[str, int]) -> Message:
    """Blocked and flagged items; ``ages`` are work item ages in days."""
    return render_list(
        f"Blocked items · {digest.team}",
        [item_line(line, ages) for line in digest.blocked],
        empty="Nothing is blocked right now. :tada:",
        show_all=show_all_value("blocked", digest.team),
    )


def render_prs(team: str, prs: Sequence[PullRequestLine]) -> Message:
    """Open pull requests, the longest open first."""
    return render_list(
        f"Open pull requests · {team}",
        [pr_line(pr) for pr in prs],
        empty="No open pull requests.",
        show_all=show_all_value("prs", team),
    )


def render_status(
    team: str,
    health: Sequence[SourceHealth],
    now: datetime,
    stale_after: timedelta,
    webhooks: Mapping[str, WebhookHealth | None] | None = None,
) -> Message:
    """Sync health per source: last success, last error, staleness, unmapped statuses.

    ``webhooks`` holds the sources that have webhooks (:func:`bot.webhooks.setup.team_webhooks`):
    each also shows its last webhook and what the last reconciliation pull found they missed.
    """
    if not health:
        return notice(f"No source of `{escape(team)}` has synced yet. Run `vsm sync` or wait.")
    blocks: list[Any] = [header(f"Sync status · {team}")]
    problems = 0
    for h in health:
        stale = h.last_success_at is None or now - h.last_success_at > stale_after
        failing = h.consecutive_failures > 0
        problems += stale or failing
        icon = (
            ":red_circle:"
            if failing
            else (":large_yellow_circle:" if stale else ":white_check_mark:")
        )
        lines = [
            f"{icon} *{escape(h.source_key)}*",
            f"Last success: {_when(h.last_success_at, now)}"
            + (" · *stale*" if stale else "")
            + f" · {h.records_seen} records, {h.skipped} skipped",
        ]
        if webhooks is not None and h.source_key in webhooks:
            lines.append(webhook_line(webhooks[h.source_key], now))
        if h.last_error:
            lines.append(
                f"Last error ({_when(h.last_error_at, now)}, {h.consecutive_failures} in a row): "
                f"{escape(redact(h.last_error))}"
            )
        if h.unmapped_statuses:
            lines.append(
                "Unmapped statuses (add them under the team's `workflow` in app.yaml): "
                + ", ".join(escape(s) for s in h.unmapped_statuses)
            )
        blocks.append(section("\n".join(lines)))
    text = f"Sync status of {team}: {len(health)} source(s), {problems} with problems"
    return fit(text, blocks)


def webhook_line(health: WebhookHealth | None, now: datetime) -> str:
    """A source's last webhook, and what the last reconciliation found the webhooks missed."""
    if health is None or health.last_received_at is None:
        return "Webhooks: no webhooks yet"
    line = f"Webhooks: last one {ago(now, health.last_received_at)}"
    if health.reconciled_at is None:
        return line
    missed = health.missed_records
    if missed == 0:
        return f"{line} · the reconciliation found nothing the webhooks missed"
    changes = "change" if missed == 1 else "changes"
    return f"{line} · the reconciliation found {missed} {changes} the webhooks missed"


def _when(when: datetime | None, now: datetime) -> str:
    return "never" if when is None else f"{slack_date(when)} ({ago(now, when)})"


NO_DEPLOYMENT = "no production deployment in the window"


def render_dora(team: str, metrics: DoraMetrics, window_days: int) -> Message:
    """The DORA metrics with their bands, each explained on ⋯."""
    figures = dora_figures(metrics)
    menu = why_menu(team, window_days, [(label, name) for label, name, _ in figures])
    blocks = [
        header(f"DORA · {team} · last {window_days} days"),
        fields([(label, value) for label, _, value in figures], menu),
        context(f"{metrics.deployment_count} production deployment(s) in the window · {WHY_HINT}."),
    ]
    return fit(f"DORA metrics of {team} over {window_days} days", blocks)


def dora_fields(metrics: DoraMetrics) -> list[tuple[str, str]]:
    """Each DORA metric and its value with its band; only a missing value says n/a, and why."""
    return [(label, value) for label, _, value in dora_figures(metrics)]


def dora_figures(metrics: DoraMetrics) -> list[tuple[str, str, str]]:
    """Each DORA metric as ``(label, explain metric name, value with its band or why n/a)``."""
    per_week = metrics.deployment_frequency_per_week
    lead = metrics.lead_time_for_changes_seconds_median
    recovery = metrics.failed_deployment_recovery_seconds_median
    rows = [
        (
            "Deployment frequency",
            "deployment_frequency",
            "deployment_frequency",
            None if per_week is None else f"{per_week:.1f} per week",
            "no deployment recorded yet",
        ),
        (
            "Lead time for changes (median)",
            "lead_time_for_changes",
            "lead_time_for_changes",
            None if lead is None else days(lead),
            "no merged pull request was shipped by a production deployment in the window"
            if metrics.deployment_count
            else NO_DEPLOYMENT,
        ),
        (
            "Change failure rate",
            "change_failure_rate",
            "change_failure_rate",
            _known_percent(metrics.change_failure_rate),
            NO_DEPLOYMENT,
        ),
        (
            "Failed deployment recovery (median)",
            "recovery_time",
            "failed_deployment_recovery_time",
            None if recovery is None else days(recovery),
            _no_recovery(metrics),
        ),
        (
            "Rework rate",
            "rework_rate",
            "rework_rate",
            _known_percent(metrics.rework_rate),
            NO_DEPLOYMENT,
        ),
    ]
    return [
        (label, name, _dora_value(text, metrics.bands.get(band), reason))
        for label, name, band, text, reason in rows
    ]


def _dora_value(text: str | None, band: str | None, reason: str) -> str:
    if text is None:
        return f"n/a: {reason}"
    return f"{text} ({band})" if band else text


def _known_percent(value: float | None) -> str | None:
    return None if value is None else f"{value * 100:.0f}%"


def _no_recovery(metrics: DoraMetrics) -> str:
    reason = "no failed deployment was recovered in the window"
    still_open = len(metrics.open_incident_ids)
    return f"{reason}; {still_open} incident(s) still open" if still_open else reason


def forecast_note(basis: ForecastBasis) -> str:
    """What a forecast simulated from, said under every forecast answer."""
    return f"Monte Carlo from tomorrow, drawing on {basis.describe()}."


def _no_forecast(team: str, basis: ForecastBasis) -> Message:
    return notice(
        f"{team} finished nothing in the last {basis.days} days, so I cannot forecast yet."
    )


def render_forecast_when(
    team: str, count: int, forecast: WhenForecast | None, basis: ForecastBasis
) -> Message:
    """When ``count`` more items will be done, at several levels of confidence."""
    if forecast is None:
        return _no_forecast(team, basis)
    dates = forecast.dates
    pairs = [
        (f"{p}% likely by", "later than the simulation" if d is None else f"{d:%a %d %b %Y}")
        for p, d in sorted(dates.items())
    ]
    blocks = [
        header(f"When will {count} more items be done? · {team}"),
        fields(pairs),
        context(forecast_note(basis)),
    ]
    summary = ", ".join(f"{p}%: {d}" for p, d in sorted(dates.items()))
    return fit(f"{team}: {count} items — {summary}", blocks)


def render_forecast_by(
    team: str, target: date, forecast: HowManyForecast | None, basis: ForecastBasis
) -> Message:
    """How many items will be done by ``target``."""
    if forecast is None:
        return _no_forecast(team, basis)
    counts = forecast.counts
    pairs = [(f"{p}% likely at least", f"{n} items") for p, n in sorted(counts.items())]
    blocks = [
        header(f"How many items by {target:%a %d %b %Y}? · {team}"),
        fields(pairs),
        context(forecast_note(basis)),
    ]
    summary = ", ".join(f"{p}%: {n}" for p, n in sorted(counts.items()))
    return fit(f"{team} by {target}: {summary}", blocks)
