"""``vsm chart``: draw one of the team's charts into a PNG file (the same charts Slack gets)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import click
from sqlalchemy import Engine

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
from bot.slack.receiving.parser import FILTER_ID, TRACKER_KEY, read_item_key
from bot.tracked_scopes import find_scope, team_scopes
from insights.forecast import BASIS_DAYS
from insights.model import Snapshot
from insights.scopes import ScopeKind, ScopeRef
from storage.snapshots import load_snapshot

SCOPE_OPTIONS = "--epic, --label, --release and --filter"


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
    "--release", metavar="NAME", help="burnup: the release (fix version, milestone) to chart."
)
@click.option("--filter", "saved_filter", metavar="ID", help="burnup: the saved Jira filter.")
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
    release: str | None,
    saved_filter: str | None,
    out: Path,
) -> None:
    """Draw a chart (scatter, aging, cfd, throughput, forecast, dora, map, trace KEY, burnup).

    ``map`` is the value stream map; ``trace KEY`` one item's journey (``trace PAY-12``);
    ``burnup --epic KEY``, ``--label NAME``, ``--release NAME`` or ``--filter ID`` a scope's
    burn-up with its forecast and target (the team's first tracked scope without one).
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
    named: dict[ScopeKind, str | None] = {
        "epic": epic,
        "label": label,
        "release": release,
        "filter": saved_filter,
    }
    scope = _scope(kind, named, runtime.engine, team_config, snapshot)
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
    kind: str,
    named: dict[ScopeKind, str | None],
    engine: Engine,
    team: TeamConfig,
    snapshot: Snapshot,
) -> ScopeRef | None:
    """The scope of a burn-up, as the team tracks it; None for other charts.

    ``named`` holds ``--epic``, ``--label``, ``--release`` and ``--filter``; without any, the
    burn-up is of the team's first tracked scope.
    """
    given = {scope: key.strip() for scope, key in named.items() if key is not None}
    if kind not in SCOPE_CHARTS:
        if given:
            raise click.UsageError(f"{SCOPE_OPTIONS} only apply to the burnup chart")
        return None
    if len(given) > 1:
        raise click.UsageError(f"give one of {SCOPE_OPTIONS.replace(' and ', ' or ')}, not more")
    if not given:
        return next(iter(team_scopes(engine, team, snapshot)), None)
    ((scope, key),) = given.items()
    return find_scope(engine, team, snapshot, scope, _scope_key(scope, key))


def _scope_key(scope: ScopeKind, key: str) -> str:
    """Check ``--epic`` (an epic's key, read upper case), ``--filter`` (digits) and the names."""
    if scope == "epic" and not TRACKER_KEY.fullmatch(key):
        raise click.BadParameter(f"{key!r} is not an epic key like PAY-100", param_hint="--epic")
    if scope == "filter" and not FILTER_ID.fullmatch(key):
        raise click.BadParameter(f"{key!r} is not a saved filter's id", param_hint="--filter")
    if not key:
        raise click.BadParameter("must not be blank", param_hint=f"--{scope}")
    return key.upper() if scope == "epic" else key
