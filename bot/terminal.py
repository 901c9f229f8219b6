"""Render the team digest in the terminal with rich (``vsm report``, ``vsm demo``)."""

from __future__ import annotations

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table

from insights.report import Digest, ItemLine

DAY = 86400.0


def _days(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds / DAY:.1f} d"


def _items_table(title: str, lines: list[ItemLine], limit: int = 10) -> Table:
    table = Table(title=title, title_justify="left", expand=True)
    table.add_column("item", no_wrap=True)
    table.add_column("title", overflow="ellipsis", no_wrap=True, ratio=1, max_width=40)
    table.add_column("status", overflow="ellipsis", no_wrap=True, max_width=14)
    table.add_column("age", justify="right", no_wrap=True)
    table.add_column("why", ratio=2)
    for line in lines[:limit]:
        key = f"[link={line.url}]{line.key}[/link]" if line.url else line.key
        table.add_row(key, line.title, line.status, _days(line.age_seconds), line.detail)
    if len(lines) > limit:
        table.caption = f"... and {len(lines) - limit} more"
    return table


def render_digest(console: Console, digest: Digest) -> None:
    """Print the digest: headline numbers, then the items that need attention."""
    limit = f" (limit {digest.wip_limit})" if digest.wip_limit else ""
    wip_style = "red" if digest.wip_limit and digest.wip > digest.wip_limit else "green"
    headline = Table.grid(padding=(0, 3))
    headline.add_row(
        f"WIP [bold {wip_style}]{digest.wip}[/]{limit}",
        f"finished in {digest.window_days} d [bold]{digest.throughput}[/]",
        f"cycle time p50 [bold]{_days(digest.cycle_time_seconds_p50)}[/]",
        f"p85 [bold]{_days(digest.cycle_time_seconds_p85)}[/]",
    )
    parts: list[object] = [headline]
    if digest.aging:
        parts.append(_items_table("Aging items", digest.aging))
    if digest.blocked:
        parts.append(_items_table("Blocked items", digest.blocked))
    if not digest.aging and not digest.blocked:
        parts.append("[green]Nothing needs attention right now.[/green]")
    title = f"{digest.team} - as of {digest.as_of:%Y-%m-%d %H:%M} UTC"
    console.print(Panel(Group(*parts), title=title, title_align="left"))
