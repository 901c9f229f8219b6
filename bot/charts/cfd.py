"""Cumulative flow diagram: one stacked band per board column and day, done at the bottom.

Each band is the number of items in that column at the end of each day; the top edge of the stack
is everything that has entered the workflow. The backlog is left out, and done is counted from the
start of the window so the work in progress is not dwarfed by everything ever finished.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from datetime import datetime, time, timedelta

from bot.charts.empty import plot_empty
from bot.charts.request import ChartRequest
from bot.charts.style import (
    BLUE,
    LIGHT_GREY,
    ORANGE,
    PURPLE,
    SKY_BLUE,
    VERMILLION,
    YELLOW,
    Chart,
    EdgeLabel,
    Header,
    date_axis,
    label_axes,
    label_right_edge,
    new_figure,
    short_day,
    whole_numbers,
)
from insights.model import Stage
from insights.stages import CumulativeFlow, board_columns, cumulative_flow

WIP_COLOURS = (SKY_BLUE, BLUE, PURPLE, YELLOW, ORANGE, VERMILLION)
"""Band colours for the columns between backlog and done, in board order (cycled)."""
CFD_RIGHT = 0.81
"""The column names are written beyond this edge, so it leaves more room than the others."""
LABEL_WIDTH = 15
"""Column names longer than this many characters are wrapped."""


def draw_cfd(request: ChartRequest) -> Chart:
    """The cumulative flow of the request's window, one band per column after the backlog."""
    end = request.today + timedelta(days=1)
    start = request.first_day - timedelta(days=1)
    header = request.header("Cumulative flow", f"last {request.window_days} days")
    columns = board_columns(request.snapshot)
    backlog = set(request.statuses_in(Stage.BACKLOG))
    shown = [c for c in columns if c not in backlog]
    done = [c for c in shown if c in request.statuses_in(Stage.DONE)]
    if not done or len(shown) < 2:
        return plot_empty(
            header,
            "The workflow has no done status after its in-progress ones.",
            "Map the team's statuses to stages under teams[].workflow in app.yaml.",
            request.dpi,
        )
    shown = [c for c in shown if c not in done[1:]]
    flow = cumulative_flow(request.snapshot, columns, start, end, request.tz)
    if not any(flow.counts[shown[0]]):
        return plot_empty(
            header,
            f"No item was started by the end of the last {request.window_days} days.",
            "The bands grow as items move across the board.",
            request.dpi,
        )
    return plot_cfd(flow, shown, done[0], header, request.dpi)


def plot_cfd(
    flow: CumulativeFlow,
    shown: Sequence[str],
    done: str,
    header: Header,
    dpi: int = 100,
) -> Chart:
    """Stack the bands of ``shown`` columns (board order, ``done`` last) of ``flow`` by day.

    The first day of ``flow`` is not drawn: it is the baseline done is counted from.
    """
    figure, (ax,) = new_figure(header, dpi, right=CFD_RIGHT)
    xs = [datetime.combine(day, time(12)) for day in flow.days[1:]]
    done_before = flow.counts[done][0]
    bands = {status: flow.band(status)[1:] for status in shown}
    bands[done] = [count - done_before for count in flow.counts[done][1:]]
    colours = {
        status: LIGHT_GREY if status == done else WIP_COLOURS[i % len(WIP_COLOURS)]
        for i, status in enumerate(shown)
    }
    lower = [0] * len(xs)
    labels = []
    for status in reversed(shown):
        upper = [a + b for a, b in zip(lower, bands[status], strict=True)]
        ax.fill_between(xs, lower, upper, color=colours[status], linewidth=0)
        ax.plot(xs, upper, color="white", linewidth=0.8)
        middle = (lower[-1] + upper[-1]) / 2
        name = textwrap.fill(status, LABEL_WIDTH)
        labels.append(EdgeLabel(middle, f"{name} ({bands[status][-1]})", colours[status]))
        lower = upper
    ax.set_xlim(xs[0], xs[-1])
    ax.set_ylim(0, max(1, max(lower)) * 1.05)
    date_axis(ax)
    whole_numbers(ax)
    label_axes(ax, None, f"Items (done: counted from {short_day(xs[0].date())})")
    label_right_edge(ax, labels)
    return Chart(figure, header, _alt_text(bands, shown, done, header))


def _alt_text(bands: dict[str, list[int]], shown: Sequence[str], done: str, header: Header) -> str:
    in_progress = [s for s in shown if s != done]
    now = ", ".join(f"{bands[s][-1]} in {s}" for s in in_progress)
    widest = max(in_progress, key=lambda s: (bands[s][-1] - bands[s][0], -shown.index(s)))
    change = bands[widest][-1] - bands[widest][0]
    facts = [header.alt_intro("Cumulative flow diagram"), f"at the end: {now}."]
    facts.append(f"{bands[done][-1]} finished in the window.")
    if change > 0:
        facts.append(f"{widest} grew most, from {bands[widest][0]} to {bands[widest][-1]} items.")
    return " ".join(facts)
