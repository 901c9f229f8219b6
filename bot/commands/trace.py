"""``vsm trace KEY``: one item's journey across tools in the terminal, or as JSON for scripts.

The same journey as ``/vsm trace`` (:func:`insights.trace.trace_item`): the time each step of the
team's value stream cost the item, the waits marked, the steps it skipped, the items it is
blocked by and the other teams' items it blocks, then every event from its creation on, in the
team's time zone. ``--as-of`` traces the past exactly (:func:`insights.as_of.snapshot_as_of`).
A key the team does not have is a usage error (status 2) naming the key and the team.
"""

from __future__ import annotations

import json
from datetime import datetime, tzinfo
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from bot.cli_state import CliState, pass_state
from bot.commands.report import other_teams, parse_as_of
from bot.terminal import literal
from insights.as_of import snapshot_as_of
from insights.detectors.support.wording import duration
from insights.trace import Trace, project_teams, span_cost, trace_item
from insights.value_stream import resolve_steps, workflow_of
from storage.snapshots import load_snapshot

WAITING = "⏳"


@click.command("trace")
@click.argument("key")
@click.option("--team", help="The team (default: the only one configured).")
@click.option(
    "--as-of",
    "past",
    callback=parse_as_of,
    help="Trace as of this instant (ISO 8601) instead of now.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@pass_state
def command(
    state: CliState, key: str, team: str | None, past: datetime | None, as_json: bool
) -> None:
    """Trace one item (PAY-12, or a pull request linked to one) across tools."""
    runtime = state.runtime()
    team_config = state.team(team)
    now = past or runtime.clock()
    snapshot = load_snapshot(
        runtime.engine,
        team_config.name,
        tuple(team_config.workflow),
        include_removed=past is not None,  # items removed since were there then
    )
    if past is not None:
        snapshot = snapshot_as_of(snapshot, now)
    steps = resolve_steps(snapshot, workflow_of(snapshot), team_config.stream_steps())
    owners = project_teams(state.config().teams)
    others = other_teams(runtime, team_config)
    trace = trace_item(snapshot, key, steps, now, teams_by_project=owners, others=others)
    if trace is None:
        raise click.BadParameter(
            f"team {team_config.name} has no item {key!r}; give an issue key such as PAY-12, "
            "or a pull request linked to one",
            param_hint="KEY",
        )
    if as_json:
        click.echo(json.dumps(trace_to_json(trace), indent=2))
    else:
        render_trace(state.console, trace, team_config.zone)


def trace_to_json(trace: Trace) -> dict[str, Any]:
    """The trace as a JSON document: instants in ISO 8601 UTC, durations in seconds."""

    def instant(at: datetime | None) -> str | None:
        return None if at is None else at.isoformat()

    return {
        "key": trace.key,
        "title": trace.title,
        "url": trace.url,
        "status": trace.status,
        "team": trace.team,
        "as_of": instant(trace.now),
        "lead_seconds": trace.lead_seconds,
        "process_seconds": trace.process_seconds,
        "steps": [
            {
                "name": span.name,
                "start_event": span.start_event,
                "end_event": span.end_event,
                "start": instant(span.start),
                "end": instant(span.end),
                "lead_seconds": span.lead_seconds,
                "process_seconds": span.process_seconds,
                "wait_seconds": span.wait_seconds,
                "waiting": span.waiting,
            }
            for span in trace.spans
        ],
        "missing_steps": [{"name": m.name, "reason": m.reason} for m in trace.missing_steps],
        "blocked_by": [
            {"key": b.key, "team": b.team, "status": b.status, "url": b.url}
            for b in trace.blocked_by
        ],
        "blocks": [
            {"key": b.key, "team": b.team, "status": b.status, "url": b.url} for b in trace.blocks
        ],
        "events": [
            {
                "at": instant(e.at),
                "event": e.event,
                "label": e.label,
                "source": e.source,
                "url": e.url,
            }
            for e in trace.events
        ],
    }


def render_trace(console: Console, trace: Trace, tz: tzinfo) -> None:
    """Print the journey: the item, its steps, what it skipped and waits on, then its events."""
    item = f"[bold]{literal(trace.key)}[/] {literal(trace.title)}"
    console.print(f"{item}  [dim]{literal(trace.team)}[/]")
    summary = f"{literal(trace.status)}"
    if trace.spans:
        so_far = "" if trace.finished else " so far"
        summary += (
            f" · lead time [bold]{duration(trace.lead_seconds)}[/]{so_far}, "
            f"work {duration(trace.process_seconds)}"
        )
    console.print(summary + f" · as of {_local(trace.now, tz)}")
    if trace.url:
        console.print(literal(trace.url), style="dim")
    steps = Table(title="Steps", title_justify="left", show_edge=False, pad_edge=False)
    steps.add_column("")
    steps.add_column("Step")
    steps.add_column("From")
    steps.add_column("Time")
    longest = trace.biggest_wait
    for span in trace.spans:
        mark = WAITING if span.waiting else ""
        here = " [bold]← here now[/]" if span.end is None else ""
        cost = literal(span_cost(span)) + here
        if span is longest:
            cost += " [red]← longest wait[/]"
        steps.add_row(mark, literal(span.name), _local(span.start, tz), cost)
    console.print(steps if trace.spans else "No step of the value stream yet.")
    if trace.missing_steps:
        skipped = ", ".join(f"{literal(m.name)} ({literal(m.reason)})" for m in trace.missing_steps)
        console.print(f"[dim]Not in this journey:[/] {skipped}")
    for blocker in trace.blocked_by:
        team = f", team {literal(blocker.team)}" if blocker.team not in (None, trace.team) else ""
        status = literal(blocker.status) if blocker.status else "status unknown here"
        console.print(f"[red]Blocked by[/] {literal(blocker.key)} ({status}{team})")
    for blocked in trace.blocks:
        who = f"{literal(blocked.status)}, team {literal(blocked.team)}"
        console.print(f"[yellow]Blocks[/] {literal(blocked.key)} ({who})")
    events = Table(title="Journey", title_justify="left", show_edge=False, pad_edge=False)
    events.add_column("When")
    events.add_column("Tool", style="dim")
    events.add_column("What")
    for event in trace.events:
        events.add_row(_local(event.at, tz), literal(event.source), literal(event.label))
    console.print(events)


def _local(at: datetime, tz: tzinfo) -> str:
    """``2026-11-25 16:00`` in the team's time zone."""
    return at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
