"""``vsm demo``: a fresh SQLite database, the demo team synced, its digest printed. No Slack."""

from __future__ import annotations

from pathlib import Path

import click

from bot.charts import write_all_charts
from bot.cli_state import CliState, needs_name, pass_state
from bot.commands.sync import print_problems, run_sync, summary_table
from bot.config import ConfigError, load_config
from bot.runtime import open_runtime
from bot.terminal import literal, render_report
from insights.report import build_report
from storage.snapshots import load_snapshot

DEMO_CONFIG = Path(__file__).resolve().parent.parent / "demo.yaml"

NEXT_STEPS = """\
[bold]Next:[/bold] point app.yaml at your own Jira/GitHub/GitLab (see the README), then
  [cyan]vsm sync[/cyan] and [cyan]vsm report[/cyan]. To talk to your team in Slack:
  [cyan]vsm manifest[/cyan] (create the Slack app from it), export SLACK_BOT_TOKEN and
  SLACK_APP_TOKEN, then [cyan]vsm serve[/cyan]."""


@click.command("demo")
@click.option(
    "--dir",
    "folder",
    default="demo",
    show_default=True,
    type=click.Path(path_type=Path, file_okay=False),
    callback=needs_name("--dir demo"),
    help="Folder for the demo database and charts (recreated each run).",
)
@pass_state
def command(state: CliState, folder: Path) -> None:
    """Run vsm-bot end to end on a seeded demo team: sync, digest, charts. No Slack needed."""
    folder.mkdir(parents=True, exist_ok=True)
    for stale in [*folder.glob("vsm.db*"), *folder.glob("*.png")]:
        stale.unlink()
    try:
        config = load_config(DEMO_CONFIG)
    except ConfigError as exc:  # the packaged file is tested; this guards local edits
        raise click.ClickException(str(exc)) from None
    state.database = f"sqlite:///{folder / 'vsm.db'}"  # what a database error names
    runtime = open_runtime(config, database=state.database)
    console = state.console
    database = literal(folder / "vsm.db")
    console.print(f"[bold]vsm-bot demo[/bold]: syncing the seeded demo team into {database}")
    results = run_sync(runtime, None, console)
    console.print(summary_table(results))
    print_problems(console, results)
    now = runtime.clock()
    for team in config.teams:
        snapshot = load_snapshot(runtime.engine, team.name, team.workflow)
        render_report(console, build_report(snapshot, team.agreements, now, team.zone))
        charts = write_all_charts(snapshot, team, now, folder)
        names = literal(", ".join(str(p) for p in charts))
        console.print(f"[bold]Charts[/bold] for {team.name}: {names}")
    console.print(NEXT_STEPS)
