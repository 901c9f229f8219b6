"""``vsm check-config``: validate app.yaml and dry-run each source (nothing is stored)."""

from __future__ import annotations

import sys
import time

import click
from rich.table import Table

from bot.cli_state import CliState, pass_state
from bot.redact import redact
from bot.runtime import utc_now
from bot.sync import make_context, source_key
from bot.terminal import literal
from integrations.registry import build_source


@click.command("check-config")
@click.option("--no-dry-run", is_flag=True, help="Only validate; do not contact the sources.")
@pass_state
def command(state: CliState, no_dry_run: bool) -> None:
    """Validate app.yaml (exit 2 when invalid) and count what each source would pull."""
    config = state.config()
    click.echo(f"{state.config_path}: valid ({len(config.teams)} team(s))")
    if no_dry_run:
        return
    table = Table(title="Dry run (nothing stored)", title_justify="left")
    table.add_column("source")
    table.add_column("would pull")
    failed = False
    for team in config.teams:
        for source_config in team.source_configs():
            key = source_key(team, source_config)
            try:
                counts = build_source(
                    source_config, make_context(team, utc_now, time.sleep)
                ).dry_run()
            except Exception as exc:  # reported per source; the others still run
                failed = True
                table.add_row(literal(key), f"[red]error: {literal(redact(str(exc)))}[/red]")
                continue
            table.add_row(literal(key), literal(", ".join(f"{v} {k}" for k, v in counts.items())))
    state.console.print(table)
    if failed:
        sys.exit(1)
