"""``vsm sync``: pull every configured source, resuming from saved cursors.

Source names, vendor errors and statuses are printed through :func:`bot.terminal.literal`.
"""

from __future__ import annotations

import sys

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from bot.cli_state import CliState, pass_state
from bot.runtime import Runtime
from bot.sync import SyncResult, sync_teams
from bot.terminal import literal
from insights.model import Page


def run_sync(runtime: Runtime, team: str | None, console: Console) -> list[SyncResult]:
    """Sync with a live progress display; return the per-source results."""
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[records]} records, {task.fields[pages]} pages"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        tasks: dict[str, TaskID] = {}

        def on_page(result: SyncResult, page: Page) -> None:
            task = tasks.get(result.source_key)
            if task is None:
                task = tasks[result.source_key] = progress.add_task(
                    literal(result.source_key), total=None, records=0, pages=0
                )
            progress.update(task, records=result.records, pages=result.pages)

        return sync_teams(runtime, team, on_page)


def summary_table(results: list[SyncResult]) -> Table:
    """The per-source summary printed after a sync."""
    table = Table(title="Sync summary", title_justify="left")
    columns = ("source", "new", "updated", "unchanged", "removed", "events", "skipped", "time")
    for column in (*columns, "status"):
        table.add_column(column, justify="left" if column in ("source", "status") else "right")
    for r in results:
        status = "[red]failed[/red]" if r.error else "[green]ok[/green]"
        table.add_row(
            literal(r.source_key),
            str(r.counts.new),
            str(r.counts.updated),
            str(r.counts.unchanged),
            str(r.counts.removed),
            str(r.counts.events),
            str(r.skipped),
            f"{r.seconds:.1f}s",
            status,
        )
    return table


def print_problems(console: Console, results: list[SyncResult]) -> None:
    """Errors and unmapped statuses, said plainly."""
    for r in results:
        if r.error:
            console.print(f"[red]error[/red] {literal(r.error)}")
        if r.unmapped:
            console.print(
                f"[yellow]note[/yellow] {literal(r.source_key)}: statuses not in the team's "
                f"workflow (mapped by category): {literal(', '.join(sorted(r.unmapped)))}; add "
                "them under teams[].workflow in app.yaml"
            )


@click.command("sync")
@click.option("--team", help="Sync only this team's sources.")
@pass_state
def command(state: CliState, team: str | None) -> None:
    """Pull every configured source, resuming from saved cursors."""
    runtime = state.runtime()
    results = run_sync(runtime, state.team_name(team), state.console)
    state.console.print(summary_table(results))
    print_problems(state.console, results)
    if any(r.error for r in results):
        sys.exit(1)
