"""Cycle-time scatter: each finished item at its finish date and cycle time, percentiles marked."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo

from bot.charts.empty import plot_empty
from bot.charts.request import ChartRequest
from bot.charts.style import (
    BLUE,
    GREEN,
    LABELLED_RIGHT,
    ORANGE,
    VERMILLION,
    Chart,
    EdgeLabel,
    Header,
    date_axis,
    days_text,
    label_axes,
    label_right_edge,
    local_naive,
    new_figure,
    note,
    percent_label,
    plural,
    whole_numbers,
)
from insights.metrics.cycle_time import ScatterPoint, cycle_time_points
from insights.metrics.flow_items import item_timelines
from insights.percentiles import cycle_time_percentiles

LINES = {50: GREEN, 85: ORANGE, 95: VERMILLION}
"""The percentile lines drawn, and their colours."""


def draw_scatter(request: ChartRequest) -> Chart:
    """The scatter of the items finished in the request's window."""
    window = (request.window_start, request.now)
    points = cycle_time_points(item_timelines(request.snapshot), *window, request.tz)
    header = request.header("Cycle time", f"items finished in the last {request.window_days} days")
    if not points:
        return plot_empty(
            header,
            f"No item finished in the last {request.window_days} days.",
            "Each item appears here once it is done; try a longer --window.",
            request.dpi,
        )
    percentiles = cycle_time_percentiles([float(p.cycle_time_days) for p in points])
    return plot_scatter(points, percentiles, header, window, request.tz, request.dpi)


def plot_scatter(
    points: Sequence[ScatterPoint],
    percentiles: Mapping[int, float] | None,
    header: Header,
    window: tuple[datetime, datetime],
    tz: tzinfo,
    dpi: int = 100,
) -> Chart:
    """Draw ``points`` (cycle time in AA days) with the p50/p85/p95 lines of ``percentiles``."""
    figure, (ax,) = new_figure(header, dpi, right=LABELLED_RIGHT)
    xs = [local_naive(p.finished_at, tz) for p in points]
    ys = [p.cycle_time_days for p in points]
    size = 60 if len(points) <= 150 else 36 if len(points) <= 600 else 24
    ax.scatter(xs, ys, s=size, color=BLUE, alpha=0.6, edgecolors="white", linewidths=0.6, zorder=3)
    start, end = (local_naive(instant, tz) for instant in window)
    ax.set_xlim(start, end + (end - start) * 0.015)
    ax.set_ylim(0, max(ys) * 1.15 + 1)  # headroom for the note
    date_axis(ax)
    whole_numbers(ax)
    label_axes(ax, "Finish date", "Cycle time (days)")
    lines = {q: percentiles[q] for q in LINES if percentiles and q in percentiles}
    for q, value in lines.items():
        ax.axhline(value, color=LINES[q], linewidth=2.2, linestyle=(0, (6, 3)), zorder=2)
    label_right_edge(ax, [EdgeLabel(v, percent_label(q, v), LINES[q]) for q, v in lines.items()])
    count = f"{plural(len(points), 'item')} finished"
    if lines:
        note(ax, f"{count} \N{MIDDLE DOT} dashed lines: share of items done within N days")
    else:
        note(ax, f"{count} \N{MIDDLE DOT} percentile lines appear from 5 items")
    return Chart(figure, header, _alt_text(points, lines, header))


def _alt_text(points: Sequence[ScatterPoint], lines: Mapping[int, float], header: Header) -> str:
    longest = max(points, key=lambda p: (p.cycle_time_days, p.key))
    facts = [header.alt_intro("Cycle-time scatter"), f"{plural(len(points), 'item')} finished."]
    if lines:
        facts.append(", ".join(f"{q}% within {days_text(v)}" for q, v in lines.items()) + ".")
    facts.append(f"Longest: {longest.key} at {days_text(longest.cycle_time_days)}.")
    return " ".join(facts)
