"""``vsm import csv FILE --team T``: load a CSV file (Jira export or generic) into a team."""

from __future__ import annotations

import time
from pathlib import Path

import click
from rich.console import Console

from bot.cli_state import CliState, pass_state
from bot.commands.sync import print_problems, summary_table
from bot.sync import SyncResult, make_context, pull_into
from bot.terminal import literal
from integrations.base import SourceError
from integrations.csv_source import Config, CsvSource

SHOWN_PROBLEMS = 20


@click.group("import")
def command() -> None:
    """Import work items from files."""


@command.command("csv")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--team", help="The team the items belong to (required with several teams).")
@click.option(
    "--format",
    "file_format",
    type=click.Choice(["auto", "jira", "generic"]),
    default="auto",
    show_default=True,
    help="jira: Jira's CSV export; generic: one row per status change (see the README).",
)
@click.option("--timezone", help="Time zone of timestamps without an offset (default: the team's).")
@pass_state
def csv_command(
    state: CliState, file: Path, team: str | None, file_format: str, timezone: str | None
) -> None:
    """Import FILE; bad rows are listed with their line number and the good ones kept."""
    team_config = state.team(team)
    runtime = state.runtime()
    try:
        config = Config(
            path=str(file),
            format=file_format,  # type: ignore[arg-type]  # checked by click.Choice
            timezone=timezone or team_config.timezone or "UTC",
            name=f"import:{file.name}",
        )
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--timezone") from None
    key = f"{team_config.name}/{config.display_name()}"
    context = make_context(team_config, runtime.clock, runtime.sleep)
    source = CsvSource(config, context)
    result = SyncResult(team=team_config.name, source=config.display_name(), source_key=key)
    started = time.perf_counter()
    try:
        pull_into(runtime.engine, key, source, runtime.clock, result)
    except SourceError as exc:
        raise click.ClickException(str(exc)) from None
    result.seconds = time.perf_counter() - started
    result.unmapped |= context.workflow.unmapped
    console = state.console
    if result.pages == 0:
        console.print(f"{literal(file)}: unchanged since its last import into {team_config.name}")
        return
    console.print(summary_table([result]))
    _print_notes(console, "skipped", file, source.problems, "bad rows")
    _print_notes(console, "dropped link", file, source.dropped_links, "dropped links")
    print_problems(console, [result])


def _print_notes(console: Console, label: str, file: Path, notes: list[str], what: str) -> None:
    """The first :data:`SHOWN_PROBLEMS` line-numbered notes about ``file``, then how many more."""
    for note in notes[:SHOWN_PROBLEMS]:
        console.print(f"[yellow]{label}[/yellow] {literal(f'{file.name} {note}')}", highlight=False)
    if len(notes) > SHOWN_PROBLEMS:
        console.print(f"... and {len(notes) - SHOWN_PROBLEMS} more {what}")
