"""``vsm report``: the team's digest in the terminal, or as JSON for scripts.

``--as-of`` reports the past exactly: the report reads the data as it was then
(:func:`insights.as_of.snapshot_as_of`), items removed since at their vendor included.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click

from bot.cli_state import CliState, pass_state
from bot.terminal import render_report
from insights.report import build_report, report_to_json
from storage.repository import load_snapshot


def parse_as_of(value: str | None) -> datetime | None:
    """Parse ``--as-of`` (ISO 8601; a naive value is taken as UTC)."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO 8601 date or datetime, e.g. 2026-11-25 or "
            "2026-11-25T09:00:00Z",
            param_hint="--as-of",
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


@click.command("report")
@click.option("--team", help="The team (default: the only one configured).")
@click.option("--as-of", "as_of", help="Report as of this instant (ISO 8601) instead of now.")
@click.option(
    "--window",
    default=30,
    show_default=True,
    type=click.IntRange(1, 3650),
    help="Days the window metrics cover.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@pass_state
def command(
    state: CliState, team: str | None, as_of: str | None, window: int, as_json: bool
) -> None:
    """Print the team's report: flow metrics, DORA, forecast and what needs attention."""
    runtime = state.runtime()
    team_config = state.team(team)
    past = parse_as_of(as_of)
    now = past or runtime.clock()
    snapshot = load_snapshot(
        runtime.engine, team_config.name, team_config.workflow, include_removed=past is not None
    )
    report = build_report(snapshot, team_config.agreements, now, team_config.zone, window)
    if as_json:
        click.echo(json.dumps(report_to_json(report), indent=2))
    else:
        render_report(state.console, report)
