"""``vsm report``: the team's digest in the terminal, or as JSON for scripts.

``--as-of`` reports the past exactly: the report reads the data as it was then
(:func:`insights.as_of.snapshot_as_of`), items removed since at their vendor included.

The snapshot (millions of objects for a large team, alive until the process ends) is loaded with
the cyclic garbage collector paused and then frozen out of its reach (:func:`load_frozen`):
otherwise the first collection after the load scans all of it, and every full collection the
report triggers scans it again, which costs about as much time as the report's metrics.

The other configured teams' snapshots are loaded beside the team's when any team names its
projects (:func:`other_teams`): the waits between teams (:mod:`insights.cross_team`) read them.

An instant is accepted from 1970 to the year 9000. Reports and charts look back at most
``MAX_WINDOW_DAYS`` plus the team's history and forecasts look ahead at most
:data:`insights.forecast.HORIZON_DAYS` past their window: decades either side, and the dates they
compute stay far inside what ``datetime`` holds (years 1 to 9999).
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable
from datetime import UTC, datetime

import click

from bot.cli_state import CliState, pass_state
from bot.config import TeamConfig
from bot.runtime import Runtime
from bot.terminal import render_report
from bot.tracked_scopes import team_scopes
from insights.model import Snapshot
from insights.report import TeamReport, build_report
from insights.report_json import report_to_json
from insights.trace import project_teams
from storage.snapshots import load_snapshot

EARLIEST_AS_OF = datetime(1970, 1, 1, tzinfo=UTC)
END_OF_AS_OF = datetime(9001, 1, 1, tzinfo=UTC)
"""``--as-of`` must be before this instant (the end of 9000-12-31)."""
MAX_WINDOW_DAYS = 3650


def parse_as_of(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    """The click callback parsing ``--as-of`` (ISO 8601; a naive value is taken as UTC)."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO 8601 date or datetime, e.g. 2026-11-25 or "
            "2026-11-25T09:00:00Z"
        ) from None
    try:
        as_of = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except OverflowError:  # an offset past year 1 or 9999
        as_of = None
    if as_of is None or not EARLIEST_AS_OF <= as_of < END_OF_AS_OF:
        raise click.BadParameter(
            f"{value!r} is out of range; give an instant between 1970-01-01 and 9000-12-31"
        )
    return as_of


def load_frozen(load: Callable[[], Snapshot]) -> Snapshot:
    """``load()`` run with the collector paused, then frozen out of the collector's reach.

    For a process that keeps the snapshot to its end. Pausing here (``load_snapshot`` pauses
    too) keeps the collection that would follow the load from scanning everything it built.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        snapshot = load()
        gc.freeze()
    finally:
        if enabled:
            gc.enable()
    return snapshot


def other_teams(runtime: Runtime, team: TeamConfig) -> dict[str, Snapshot]:
    """The other configured teams' stored snapshots by name; none when no team names projects."""
    teams = runtime.config.teams
    if not project_teams(teams):
        return {}
    return {
        other.name: load_snapshot(runtime.engine, other.name, tuple(other.workflow))
        for other in teams
        if other.name != team.name
    }


def team_report(
    runtime: Runtime, team: TeamConfig, snapshot: Snapshot, now: datetime, window: int = 30
) -> TeamReport:
    """The team's report with all its configuration adds to the data.

    Its value stream steps, its tracked scopes (app.yaml's and those tracked from Slack), and
    the other teams' data for the waits between teams.
    """
    return build_report(
        snapshot,
        team.agreements,
        now,
        team.zone,
        window,
        steps=team.stream_steps(),
        scopes=team_scopes(runtime.engine, team, snapshot),
        teams_by_project=project_teams(runtime.config.teams),
        others=other_teams(runtime, team),
    )


@click.command("report")
@click.option("--team", help="The team (default: the only one configured).")
@click.option(
    "--as-of",
    "past",
    callback=parse_as_of,
    help="Report as of this instant (ISO 8601) instead of now.",
)
@click.option(
    "--window",
    default=30,
    show_default=True,
    type=click.IntRange(1, MAX_WINDOW_DAYS),
    help="Days the window metrics cover.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@pass_state
def command(
    state: CliState, team: str | None, past: datetime | None, window: int, as_json: bool
) -> None:
    """Print the team's report: flow metrics, DORA, forecast and what needs attention."""
    runtime = state.runtime()
    team_config = state.team(team)
    now = past or runtime.clock()
    snapshot = load_frozen(
        lambda: load_snapshot(
            runtime.engine, team_config.name, team_config.workflow, include_removed=past is not None
        )
    )
    report = team_report(runtime, team_config, snapshot, now, window)
    if as_json:
        click.echo(json.dumps(report_to_json(report), indent=2))
    else:
        render_report(state.console, report)
