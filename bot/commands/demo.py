"""``vsm demo``: a fresh SQLite database, the demo team synced, its digest printed. No Slack."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from bot.charts import hotspot_words, percent, short_duration, write_all_charts
from bot.cli_state import CliState, needs_name, pass_state
from bot.commands.report import team_report
from bot.commands.sync import print_problems, run_sync, summary_table
from bot.config import ConfigError, TeamConfig, load_config
from bot.runtime import open_runtime
from bot.slack.answering.render_scope import scope_summary
from bot.terminal import literal, render_report
from bot.tracked_scopes import team_scopes
from insights.scopes import scope_forecast
from insights.value_stream import ValueStreamMap
from integrations.demo_story import due_dates
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
    """Run vsm-bot end to end on a seeded demo team: sync, digest, map, charts. No Slack needed."""
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
    for team in (due_on_the_demo_calendar(team, now) for team in config.teams):
        snapshot = load_snapshot(runtime.engine, team.name, team.workflow)
        report = team_report(runtime, team, snapshot, now)
        render_report(console, report)
        console.print(value_stream_summary(report.value_stream))
        for ref in team_scopes(runtime.engine, team, snapshot):
            forecast = scope_forecast(snapshot, ref, now, team.zone)
            console.print(f"[bold]Forecast[/bold] {literal(scope_summary(forecast))}")
        charts = write_all_charts(snapshot, team, now, folder)
        names = literal(", ".join(str(p) for p in charts))
        console.print(f"[bold]Charts[/bold] for {team.name}: {names}")
    console.print(NEXT_STEPS)


def due_on_the_demo_calendar(team: TeamConfig, now: datetime) -> TeamConfig:
    """``team`` with its planted epic due when the demo data plants it, counted from now.

    demo.yaml's date fits the tests' anchor; a demo run today moves it with its own anchor. (The
    planted release's date is its fix version's, which the demo data moves itself.)
    """
    due = due_dates(now)
    scopes = tuple(
        scope.model_copy(update={"target": due.get(scope.epic or "", scope.target)})
        for scope in team.scopes
    )
    return team.model_copy(update={"scopes": scopes})


def value_stream_summary(vsm: ValueStreamMap) -> str:
    """The stream's totals and where its time goes, as Rich markup (step names escaped)."""
    lines = [
        f"[bold]Value stream[/bold] of {literal(vsm.team)}: lead time p50 "
        f"{short_duration(vsm.lead_seconds_p50)}, p85 {short_duration(vsm.lead_seconds_p85)} · "
        f"activity ratio {percent(vsm.activity_ratio)} · rolled %C&A "
        f"{percent(vsm.rolled_complete_accurate)} · {vsm.items} items, {vsm.no_pr} without a PR"
    ]
    if vsm.hotspot is not None:
        lines.append(f"  Where the time goes: {literal(hotspot_words(vsm.hotspot))}")
    return "\n".join(lines)
