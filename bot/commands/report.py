"""``vsm report``: the team's digest in the terminal, or as JSON for scripts."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

import click

from bot.cli_state import CliState, pass_state
from bot.terminal import render_digest
from insights.report import build_digest
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


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


@click.command("report")
@click.option("--team", help="The team (default: the only one configured).")
@click.option("--as-of", "as_of", help="Report as of this instant (ISO 8601) instead of now.")
@click.option("--window", default=14, show_default=True, help="Days the throughput covers.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@pass_state
def command(
    state: CliState, team: str | None, as_of: str | None, window: int, as_json: bool
) -> None:
    """Print the team's digest: WIP, throughput, cycle time, aging and blocked items."""
    runtime = state.runtime()
    team_config = state.team(team)
    now = parse_as_of(as_of) or runtime.clock()
    snapshot = load_snapshot(runtime.engine, team_config.name, team_config.workflow)
    digest = build_digest(snapshot, team_config.agreements, now, team_config.zone, window)
    if as_json:
        data = dataclasses.asdict(digest, dict_factory=lambda kv: {k: _jsonable(v) for k, v in kv})
        click.echo(json.dumps(data, indent=2))
    else:
        render_digest(state.console, digest)
