"""Render the team report in the terminal with rich (``vsm report``, ``vsm demo``).

Rich reads ``[...]`` as markup, so text from a vendor (titles, statuses, error bodies), from
app.yaml or from the file system goes through :func:`literal` before it joins a markup string;
a link's target, which markup cannot escape, is set as a style.
"""

from __future__ import annotations

from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.style import Style
from rich.table import Table
from rich.text import Text

from insights.findings import Finding, Severity
from insights.report import TeamReport

DAY = 86400.0
PER_SEVERITY = 6
SEVERITY_STYLE = {
    Severity.CRITICAL: ("Critical", "bold red"),
    Severity.WARN: ("Warning", "yellow"),
    Severity.INFO: ("Heads-up", "cyan"),
}


def literal(value: object) -> str:
    """``value`` as Rich markup that prints exactly as written (``[/]`` stays ``[/]``)."""
    return escape(str(value))


def _days(seconds: float | int | None) -> str:
    return "n/a" if seconds is None else f"{seconds / DAY:.1f} d"


def _percent(ratio: float | int | None) -> str:
    return "n/a" if ratio is None else f"{ratio:.0%}"


def _headline(report: TeamReport) -> Table:
    m = report.metrics
    wip, limit = m["wip"], m["wip_limit"]
    over = limit is not None and wip is not None and wip > limit
    wip_text = f"[bold {'red' if over else 'green'}]{wip}[/]" + (
        f" / limit {limit}" if limit else ""
    )
    grid = Table.grid(padding=(0, 3))
    grid.add_row(
        f"WIP {wip_text}",
        f"finished [bold]{m['throughput_items']}[/] in {report.window_days} d",
        f"cycle time p50 [bold]{_days(m['cycle_time_seconds_p50'])}[/]"
        f"  p85 [bold]{_days(m['cycle_time_seconds_p85'])}[/]",
    )
    sle = m["sle_days"]
    grid.add_row(
        f"flow efficiency [bold]{_percent(m['flow_efficiency_ratio'])}[/]",
        f"started {m['net_flow_started_items']} / finished {m['net_flow_finished_items']}",
        "SLE n/a"
        if sle is None
        else f"SLE [bold]85% within {sle:.0f} d[/], met by {_percent(m['sle_compliance_rate'])}",
    )
    return grid


def _delivery(report: TeamReport) -> Text:
    dora = report.dora
    bands = dora.bands
    parts = []
    if dora.deployment_frequency_per_week is not None:
        parts.append(
            f"deploys {dora.deployment_frequency_per_week:.1f}/week "
            f"({bands.get('deployment_frequency') or 'n/a'})"
        )
    if dora.lead_time_for_changes_seconds_median is not None:
        parts.append(
            f"lead time for changes {_days(dora.lead_time_for_changes_seconds_median)} "
            f"({bands.get('lead_time_for_changes') or 'n/a'})"
        )
    if dora.change_failure_rate is not None:
        parts.append(f"change failure rate {_percent(dora.change_failure_rate)}")
    forecast = report.forecast.when
    if forecast is not None and forecast.dates.get(85) is not None:
        parts.append(
            f"current WIP done by {forecast.dates[85]:%d %b} (85%, Monte Carlo from the daily "
            f"throughput of the last {report.forecast.basis_days} days)"
        )
    return Text("  ·  ".join(parts) if parts else "no deployments or forecast yet", style="dim")


def _line(finding: Finding, style: str) -> tuple[str, Text]:
    """A subject's finding: its chosen reason (linked), who acts and what to do."""
    link = Style(link=finding.url) if finding.url else Style()
    others = len(finding.reasons) - 1
    more = f" (+{others} more reason{'s' if others > 1 else ''})" if others > 0 else ""
    named = [p for p in finding.people if p not in finding.action]
    who = f"{', '.join(named)}: " if named else ""
    subject = finding.subject
    key = "" if subject == "team" or finding.title.startswith(subject) else f"{subject} · "
    text = Text.assemble(
        (key, "bold"),
        (finding.title, link),
        (more, "dim"),
        "\n",
        (f"→ {who}{finding.action}", "dim"),
    )
    return f"[{style}]●[/]", text


def _table(rows: list[tuple[str, Text]]) -> Table:
    table = Table.grid(padding=(0, 1))
    table.add_column(no_wrap=True)
    table.add_column()
    for row in rows:
        table.add_row(*row)
    return table


def _findings(report: TeamReport) -> list[RenderableType]:
    """Focus items first (cost of delay), then the other subjects and the team's findings."""
    focus = [item.finding for item in report.focus]
    shown = {f.dedupe_key for f in focus}
    items = [f for f in report.subjects if f.subject != "team" and f.dedupe_key not in shown]
    team = [f for f in report.subjects if f.subject == "team"]
    parts: list[RenderableType] = []
    sections = (
        (f"Focus ({len(focus)} of {len(focus) + len(items)} items)", focus),
        ("Also open", items[:PER_SEVERITY]),
        ("Team", team[:PER_SEVERITY]),
    )
    for title, group in sections:
        if not group:
            continue
        rows = [_line(f, SEVERITY_STYLE[f.severity][1]) for f in group]
        parts.extend([Text(title, style="bold"), _table(rows)])
    hidden = max(0, len(items) - PER_SEVERITY) + max(0, len(team) - PER_SEVERITY)
    if hidden:
        parts.append(Text(f"{hidden} more not shown: vsm report --json has them all.", "dim"))
    if not parts:
        parts.append(Text("Nothing needs attention right now.", style="green"))
    return parts


def render_report(console: Console, report: TeamReport) -> None:
    """Print the digest: headline numbers, delivery, then one finding per subject."""
    title = (
        f"{literal(report.team)} · last {report.window_days} days"
        f" · as of {report.as_of:%Y-%m-%d %H:%M} UTC"
    )
    body = Group(_headline(report), _delivery(report), Text(""), *_findings(report))
    console.print(Panel(body, title=title, title_align="left"))
