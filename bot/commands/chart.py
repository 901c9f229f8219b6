"""``vsm chart``: draw one of the team's charts into a PNG file (the same charts Slack gets)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import click

from bot.charts import (
    CHART_KINDS,
    DEFAULT_WINDOW_DAYS,
    ITEM_CHARTS,
    MAP_WINDOW_DAYS,
    SCOPE_CHARTS,
    render_chart,
)
from bot.cli_state import CliState, output_file, pass_state, write_file
from bot.commands.report import MAX_WINDOW_DAYS, parse_as_of
from bot.config import TeamConfig
from bot.slack.receiving.parser import TRACKER_KEY, read_item_key
from bot.tracked_scopes import find_scope
from insights.forecast import BASIS_DAYS
from insights.model import Snapshot
from insights.scopes import ScopeRef
from storage.snapshots import load_snapshot


def parse_day(value: str | None) -> date | None:
    """Parse ``--by`` (a calendar date, YYYY-MM-DD)."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-12-18", param_hint="--by"
        ) from None


def parse_item_key(kind: str, value: str | None) -> str | None:
    """Check the KEY argument: an item chart needs one (``PAY-12``, ``acme/api#7``), others none."""
    if kind not in ITEM_CHARTS:
        if value is not None:
            raise click.UsageError(f"only the {' and '.join(ITEM_CHARTS)} chart takes an item key")
        return None
    if value is None:
        raise click.UsageError(f"name the item to {kind}, e.g. vsm chart {kind} PAY-12")
    key = read_item_key(value)
    if key is None:
        raise click.BadParameter(
            f"{value!r} is not an item key; name a work item like PAY-12 or a pull request "
            "like acme/api#7",
            param_hint="KEY",
        )
    return key


@click.command("chart")
@click.argument("kind", metavar="KIND", type=click.Choice(CHART_KINDS))
@click.argument("item", metavar="[KEY]", required=False)
@click.option("--team", help="The team (default: the only one configured).")
@click.option(
    "--as-of",
    "past",
    callback=parse_as_of,
    help="Draw as of this instant (ISO 8601) instead of now.",
)
@click.option(
    "--window",
    type=click.IntRange(1, MAX_WINDOW_DAYS),
    help=f"Days of history the chart covers [default: {DEFAULT_WINDOW_DAYS}; forecast: "
    f"{BASIS_DAYS}, the days of throughput every forecast samples, as in Slack; map: "
    f"{MAP_WINDOW_DAYS}, items finished in the report's window].",
)
@click.option(
    "--items", type=click.IntRange(min=1), help="forecast: when will this many items be done?"
)
@click.option("--by", help="forecast: how many items will be done by this date (YYYY-MM-DD)?")
@click.option("--epic", metavar="KEY", help="burnup: the epic whose children to chart (PAY-100).")
@click.option("--label", metavar="NAME", help="burnup: the label whose items to chart.")
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    callback=output_file,
    help="The PNG file to write, in a folder that exists.",
)
@pass_state
def command(
    state: CliState,
    kind: str,
    item: str | None,
    team: str | None,
    past: datetime | None,
    window: int | None,
    items: int | None,
    by: str | None,
    epic: str | None,
    label: str | None,
    out: Path,
) -> None:
    """Draw a chart (scatter, aging, cfd, throughput, forecast, dora, map, trace KEY, burnup).

    ``map`` is the value stream map; ``trace KEY`` one item's journey (``trace PAY-12``);
    ``burnup --epic KEY`` or ``--label NAME`` a scope's burn-up with its forecast and target (the
    team's first tracked scope without either).
    """
    item_key = parse_item_key(kind, item)
    target = parse_day(by)
    if items is not None and target is not None:
        raise click.UsageError("give either --items (when?) or --by (how many?), not both")
    if kind != "forecast" and (items is not None or target is not None):
        raise click.UsageError("--items and --by only apply to the forecast chart")
    runtime = state.runtime()
    team_config = state.team(team)
    now = past or runtime.clock()
    snapshot = load_snapshot(
        runtime.engine,
        team_config.name,
        tuple(team_config.workflow),
        include_removed=past is not None,  # items removed since were there then
    )
    scope = _scope(kind, epic, label, team_config, snapshot)
    try:
        image = render_chart(
            kind,
            snapshot,
            team_config,
            now,
            window_days=window,
            forecast_items=items,
            forecast_date=target,
            item_key=item_key,
            scope=scope,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    write_file(out, image.png)
    click.echo(f"wrote {out} ({len(image.png):,} bytes)")
    click.echo(image.alt_text)


def _scope(
    kind: str, epic: str | None, label: str | None, team: TeamConfig, snapshot: Snapshot
) -> ScopeRef | None:
    """The scope of a burn-up (``--epic`` or ``--label``, as the team tracks it).

    None for other charts, and for a burn-up of the team's first tracked scope.
    """
    if kind not in SCOPE_CHARTS:
        if epic is not None or label is not None:
            raise click.UsageError("--epic and --label only apply to the burnup chart")
        return None
    if epic is not None and label is not None:
        raise click.UsageError("give either --epic or --label, not both")
    if epic is not None:
        if not TRACKER_KEY.fullmatch(epic):
            raise click.BadParameter(
                f"{epic!r} is not an epic key like PAY-100", param_hint="--epic"
            )
        return find_scope(team, snapshot, "epic", epic.upper())
    if label is not None:
        return find_scope(team, snapshot, "label", label.strip())
    return None
