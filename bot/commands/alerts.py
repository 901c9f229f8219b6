"""``vsm alerts backtest``: how many alert cards and mentions the bot would have sent, measured.

It replays the detectors hour by hour over the team's working days (:mod:`insights.backtest`)
with the alert pipeline's policy (``AlertPolicy`` defaults; ``--min-severity`` and
``--daily-cap`` try other values) and the team's mutes, and prints per detector and per day what
its channel would have got, against the budget of five new cards per channel per day.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from bot.cli_state import CliState, pass_state
from bot.commands.report import other_teams
from bot.config import TeamConfig
from bot.slack.answering.render_backtest import backtest_policy
from bot.slack.delivering.alerts import AlertPolicy
from bot.terminal import literal
from bot.working_time import calendar_of
from insights.backtest import BUDGET, Backtest, Lever, Replay, levers, simulate
from insights.findings import Severity
from insights.trace import project_teams
from storage.slack_settings import active_mutes
from storage.snapshots import load_snapshot

MAX_DAYS = 365
MISSED_SHOWN = 12


@click.group("alerts")
def command() -> None:
    """What the alerts send: measure it over past days before changing a setting."""


@command.command("backtest")
@click.option("--team", help="The team (default: the only one configured).")
@click.option(
    "--days",
    default=30,
    show_default=True,
    type=click.IntRange(1, MAX_DAYS),
    help="Days to replay, up to now.",
)
@click.option(
    "--min-severity",
    type=click.Choice([Severity.WARN.value, Severity.CRITICAL.value]),
    help="Alert from this severity on (default: the bot's).",
)
@click.option(
    "--daily-cap",
    type=click.IntRange(1, 1000),
    help="New cards a channel gets per day at most (default: the bot's).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@pass_state
def backtest_command(
    state: CliState,
    team: str | None,
    days: int,
    min_severity: str | None,
    daily_cap: int | None,
    as_json: bool,
) -> None:
    """Replay the detectors over past days: cards, mentions and items per detector and per day."""
    runtime = state.runtime()
    team_config = state.team(team)
    now = runtime.clock()
    snapshot = load_snapshot(
        runtime.engine, team_config.name, list(team_config.workflow), include_removed=True
    )
    muted = [m.detector for m in active_mutes(runtime.engine, team_config.name, now)]
    replay = Replay(
        snapshot,
        team_config.agreements,
        calendar_of(team_config),
        now,
        days,
        muted=muted,
        teams_by_project=project_teams(runtime.config.teams),
        others=other_teams(runtime, team_config),
    )
    policy = backtest_policy(AlertPolicy())
    if min_severity is not None:
        policy = dataclasses.replace(policy, min_severity=Severity(min_severity))
    if daily_cap is not None:
        policy = dataclasses.replace(policy, daily_cap=daily_cap)
    result = simulate(replay, policy)
    tried = [] if result.within(BUDGET) else levers(replay, policy, BUDGET)
    if as_json:
        click.echo(json.dumps(backtest_to_json(team_config, result, tried, muted), indent=2))
    else:
        print_backtest(state.console, team_config, result, tried, muted)


def backtest_to_json(
    team: TeamConfig, result: Backtest, tried: list[Lever], muted: list[str]
) -> dict[str, Any]:
    """The backtest as one JSON document (``vsm alerts backtest --json``)."""
    policy = result.policy
    return {
        "team": team.name,
        "channel": team.channel,
        "first_day": result.first_day.isoformat(),
        "last_day": result.last_day.isoformat(),
        "policy": {
            "min_severity": policy.min_severity.value,
            "daily_cap": policy.daily_cap,
            "cooldown_seconds": policy.cooldown.total_seconds(),
            "working_days_only": policy.working_days_only,
        },
        "muted": muted,
        "runs": result.runs,
        "cold_start_cards": result.cold_start,
        "new_cards_per_day_mean": round(result.mean_new_cards, 3),
        "new_cards_per_day_max": result.max_new_cards,
        "mentions_per_day_mean": round(result.mean_mentions, 3),
        "budget_new_cards_per_day": BUDGET,
        "within_budget": result.within(BUDGET),
        "missed": list(result.missed),
        "detectors": [
            {**dataclasses.asdict(t), "mean_cards_per_day": round(t.mean_cards_per_day, 3)}
            | {"mean_mentions_per_day": round(t.mean_mentions_per_day, 3)}
            for t in result.detectors
        ],
        "days": [
            {
                "day": row.day.isoformat(),
                "runs": row.runs,
                "new_cards": row.new_cards,
                "reopened": row.reopened,
                "overflow": row.overflow,
                "resolved": row.resolved,
                "mentions": row.mentions,
                "people": row.people,
                "by_detector": {name: c.cards for name, c in row.by_detector.items() if c.cards},
            }
            for row in result.rows
        ],
        "levers": [_lever_json(lever) for lever in tried],
    }


def _lever_json(lever: Lever) -> dict[str, Any]:
    return {
        "change": lever.label,
        "new_cards_per_day_mean": round(lever.result.mean_new_cards, 3),
        "new_cards_per_day_max": lever.result.max_new_cards,
        "within_budget": lever.result.within(BUDGET),
        "missed": list(lever.result.missed),
    }


def _detector_table(result: Backtest) -> Table:
    table = Table(title="Per detector (a merged item card counts for its chosen reason)")
    for name in ("detector", "cards/day mean", "max", "mentions/day", "items", "reopened"):
        table.add_column(name, justify="left" if name == "detector" else "right")
    for t in result.detectors:
        table.add_row(
            literal(t.detector),
            f"{t.mean_cards_per_day:.2f}",
            str(t.max_cards_per_day),
            f"{t.mean_mentions_per_day:.2f}",
            str(t.items),
            str(t.reopened),
        )
    return table


def _day_table(result: Backtest) -> Table:
    table = Table(title="Per day")
    for name in ("day", "new cards", "overflow", "resolved", "reopened", "mentions"):
        table.add_column(name, justify="left" if name == "day" else "right")
    for row in result.rows:
        over = row.new_cards > BUDGET
        table.add_row(
            f"{row.day:%a %Y-%m-%d}",
            f"[bold red]{row.new_cards}[/]" if over else str(row.new_cards),
            str(row.overflow),
            str(row.resolved),
            str(row.reopened),
            str(row.mentions),
        )
    return table


def _verdict(result: Backtest, tried: list[Lever]) -> list[str]:
    budget = f"at most {BUDGET} new cards per channel per day"
    if result.within(BUDGET):
        return [f"[bold green]Within the budget[/] ({budget}): max {result.max_new_cards}."]
    over = sum(1 for row in result.rows if row.new_cards > BUDGET)
    lines = [f"[bold red]Over the budget[/] ({budget}) on {over} day(s). Single changes:"]
    for lever in tried:
        outcome = "within" if lever.result.within(BUDGET) else "still over"
        lines.append(
            f"  {literal(lever.label)} → mean {lever.result.mean_new_cards:.1f}, max "
            f"{lever.result.max_new_cards} a day ({outcome}), "
            f"{len(lever.result.missed)} item(s) never carded"
        )
    return lines


def print_backtest(
    console: Console, team: TeamConfig, result: Backtest, tried: list[Lever], muted: list[str]
) -> None:
    """Print the backtest: settings, per-detector and per-day tables, then the budget verdict."""
    policy = result.policy
    channel = literal(team.channel or "no channel configured")
    console.print(
        f"[bold]{literal(team.name)}[/] in {channel}: {result.first_day} to {result.last_day}, "
        f"{result.runs} hourly runs on {len(result.rows)} working days"
    )
    hours = policy.cooldown.total_seconds() / 3600
    console.print(
        f"min severity {policy.min_severity.value} · daily cap {policy.daily_cap} · cooldown "
        f"{hours:g} h · muted: {literal(', '.join(muted) or 'none')}"
    )
    console.print(_detector_table(result))
    console.print(_day_table(result))
    console.print(
        f"New cards a day: mean {result.mean_new_cards:.1f}, max {result.max_new_cards}; "
        f"mentions a day: mean {result.mean_mentions:.1f}. Cold start: {result.cold_start} "
        "card(s) already open when the window starts, not counted above."
    )
    if result.missed:
        shown = ", ".join(result.missed[:MISSED_SHOWN])
        more = len(result.missed) - MISSED_SHOWN
        console.print(
            f"Never carded ({len(result.missed)}): {literal(shown)}"
            + (f" and {more} more" if more > 0 else "")
        )
    for line in _verdict(result, tried):
        console.print(line)
