"""``vsm export``: every stored record as JSON Lines on stdout (see the README's contract)."""

from __future__ import annotations

import json

import click

from bot.cli_state import CliState, pass_state
from bot.export import export_records
from storage.snapshots import load_snapshot


@click.command("export")
@click.option("--team", help="Export only this team (default: every team).")
@pass_state
def command(state: CliState, team: str | None) -> None:
    """Write every stored record as JSON Lines to stdout, one record per line."""
    runtime = state.runtime()
    for team_config in runtime.config.teams_named(state.team_name(team)):
        snapshot = load_snapshot(runtime.engine, team_config.name, include_removed=True)
        for record in export_records(snapshot):
            click.echo(json.dumps(record, separators=(",", ":")))
