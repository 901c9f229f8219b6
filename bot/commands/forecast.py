"""``vsm forecast epic KEY | label NAME | release NAME | filter ID``: when a scope will be done.

The forecast of :mod:`insights.scopes`: the scope's items done and left, its growth per week, the
dates it is done by at 50/85/95 % and, with a target date, the chance to make it. A scope the
team tracks (app.yaml ``scopes:``, or ``/vsm track``) keeps its name and target, an untracked
one gets its vendor's (a release's date, an epic's due date); ``--by`` sets another target.
The levers (``--freeze-scope``, ``--cut N``, ``--throughput +20%``) print a what-if column beside
the forecast as it is, simulated on the same random days. ``--as-of`` forecasts from the past.
A scope without any item of the team is a usage error (status 2).
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime

import click
from rich.console import Console
from rich.table import Table

from bot.cli_state import CliState, pass_state
from bot.commands.report import parse_as_of
from bot.slack.receiving.parser import FILTER_ID
from bot.terminal import literal
from bot.tracked_scopes import find_scope
from insights.report_json import scope_to_json
from insights.scopes import SCOPE_KINDS, Levers, ScopeForecast, ScopeKind, scope_model
from storage.snapshots import load_snapshot

PERCENT = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)\s*%?\s*$")
MAX_CUT = 100_000


def parse_throughput(ctx: click.Context, param: click.Parameter, value: str | None) -> float:
    """The click callback turning ``+20%`` (or ``-20%``, ``20``) into a factor (1.2)."""
    if value is None:
        return 1.0
    match = PERCENT.match(value)
    change = float(match.group(1)) if match else None
    if change is None or not -100 < change <= 1000:
        raise click.BadParameter(
            f"{value!r} is not a change in percent between -99% and +1000%, e.g. +20% or -20%"
        )
    return 1 + change / 100


def parse_key(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """The click callback checking KEY: not blank, a filter's id in digits, an epic's upper case."""
    key = value.strip()
    if not key:
        raise click.BadParameter("name the scope, e.g. vsm forecast release 2.3")
    if ctx.params.get("kind") == "filter" and not FILTER_ID.fullmatch(key):
        raise click.BadParameter(f"{value!r} is not a saved filter's id, e.g. 10042")
    return key.upper() if ctx.params.get("kind") == "epic" else key


@click.command("forecast")
@click.argument("kind", type=click.Choice(SCOPE_KINDS))
@click.argument("key", callback=parse_key)
@click.option("--team", help="The team (default: the only one configured).")
@click.option(
    "--as-of", "past", callback=parse_as_of, help="Forecast as of this instant (ISO 8601)."
)
@click.option("--freeze-scope", is_flag=True, help="What if no more items are added.")
@click.option("--cut", default=0, type=click.IntRange(0, MAX_CUT), help="What if N items are cut.")
@click.option(
    "--throughput",
    "factor",
    callback=parse_throughput,
    help="What if the team finishes this much more or less, e.g. +20% or -20%.",
)
@click.option("--by", "target", type=click.DateTime(["%Y-%m-%d"]), help="The target date.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@pass_state
def command(
    state: CliState,
    kind: ScopeKind,
    key: str,
    team: str | None,
    past: datetime | None,
    freeze_scope: bool,
    cut: int,
    factor: float,
    target: datetime | None,
    as_json: bool,
) -> None:
    """Forecast when a scope will be done, and what if.

    A scope is an epic's children, a label's issues, a release's (a Jira fix version, a GitHub
    or GitLab milestone: ``release "Mobile 2.3"``) or a saved Jira filter's, by id.
    """
    runtime = state.runtime()
    team_config = state.team(team)
    now = past or runtime.clock()
    snapshot = load_snapshot(
        runtime.engine,
        team_config.name,
        tuple(team_config.workflow),
        include_removed=past is not None,  # items removed since were there then
    )
    by = target.date() if target is not None else None
    ref = find_scope(runtime.engine, team_config, snapshot, kind, key, by)
    model = scope_model(snapshot, ref, now, team_config.zone)
    if not model.history:
        raise click.BadParameter(
            f"team {team_config.name} has no issue in {ref.name!r}", param_hint="KEY"
        )
    levers = Levers(freeze_scope=freeze_scope, cut=cut, throughput_factor=factor)
    base = model.forecast()
    changed = model.forecast(levers) if levers != Levers() else None
    if as_json:
        document = {
            "team": team_config.name,
            "as_of": now.isoformat(),
            "forecast": scope_to_json(base),
            "what_if": None
            if changed is None
            else {"levers": _levers_json(levers), "forecast": scope_to_json(changed)},
        }
        click.echo(json.dumps(document, indent=2))
    else:
        render_forecast(state.console, base, changed)


def _levers_json(levers: Levers) -> dict[str, object]:
    return {
        "freeze_scope": levers.freeze_scope,
        "cut": levers.cut,
        "throughput_factor": levers.throughput_factor,
    }


def render_forecast(console: Console, base: ScopeForecast, changed: ScopeForecast | None) -> None:
    """The forecast as it is and, with levers, the what-if beside it."""
    ref = base.ref
    target = f", target {ref.target.isoformat()}" if ref.target else ""
    scope = literal(f"{ref.kind} {ref.key}{target}")
    console.print(f"[bold]{literal(ref.name)}[/bold] ({scope})")
    table = Table()
    table.add_column("")
    table.add_column("As is", justify="right")
    if changed is not None:
        table.add_column(f"What if: {literal(changed.levers.describe())}", justify="right")
    forecasts = [base] if changed is None else [base, changed]
    rows: list[tuple[str, list[str]]] = [
        ("Done", [str(f.done) for f in forecasts]),
        ("Left", [str(f.remaining) for f in forecasts]),
        ("In scope", [str(f.total) for f in forecasts]),
        ("Added per week", [f"{f.growth_per_week:.1f}" for f in forecasts]),
        *((f"{c}% done by", [_date(f.dates[c]) for f in forecasts]) for c in (50, 85, 95)),
    ]
    if ref.target is not None:
        rows.append((f"Chance by {ref.target.isoformat()}", [_chance(f) for f in forecasts]))
    for label, cells in rows:
        table.add_row(label, *cells)
    console.print(table)
    console.print(
        f"Simulated 10,000 times on the team's daily throughput of the last {base.basis_days} "
        "days and the scope's own daily growth."
    )
    if base.never:
        console.print("[yellow]At this growth the scope is not done within 10 years.[/yellow]")
    if base.too_short:
        console.print(f"[yellow]Not to be trusted: {literal(base.too_short)}.[/yellow]")


def _date(day: date | None) -> str:
    return "not within 10 years" if day is None else day.isoformat()


def _chance(forecast: ScopeForecast) -> str:
    return "n/a" if forecast.probability is None else f"{forecast.probability:.0%}"
