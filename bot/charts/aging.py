"""Aging WIP: each item in progress in its board column at its age, over the cycle-time bands.

The bands are the team's cycle-time percentiles (50/70/85/95 %) of recently finished items, so an
item above the 85 % line is already older than most items ever get: it stands out in vermillion,
and the oldest of those are labelled with their keys.
"""

from __future__ import annotations

import textwrap
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence

from matplotlib.axes import Axes
from matplotlib.lines import Line2D

from bot.charts.empty import plot_empty
from bot.charts.request import ChartRequest
from bot.charts.style import (
    BLUE,
    FONT,
    GREEN,
    INK,
    LABELLED_RIGHT,
    NOTE_SIZE,
    ORANGE,
    TICK_SIZE,
    VERMILLION,
    YELLOW,
    Chart,
    EdgeLabel,
    Header,
    axes_size_points,
    days_text,
    label_axes,
    label_right_edge,
    new_figure,
    note,
    percent_label,
    plain,
    plural,
    whole_numbers,
)
from insights.metrics.aging import AgingPoint, aging_wip
from insights.metrics.cycle_time import cycle_time_points
from insights.metrics.flow_items import item_timelines
from insights.model import Stage
from insights.percentiles import cycle_time_percentiles

BANDS = ((50, GREEN), (70, YELLOW), (85, ORANGE), (95, VERMILLION))
"""Each percentile and the colour of the band that ends at it."""
AT_RISK = 85
LABELLED = 5
"""How many of the oldest at-risk items carry their key."""
SPREAD = 0.42
"""Half the width of a column (in columns) over which its items may be spread."""
LABEL_GAP_PT = NOTE_SIZE * 1.25
"""Vertical distance kept between two key labels in one column."""
LEADER_PT = 34.0
"""How far right a label moved off its item sits, joined to it by a thin line."""
MARKER_PT = 13.0
"""Marker diameter in points: the distance kept between items in a column."""


def draw_aging(request: ChartRequest) -> Chart:
    """The items in progress at the request's instant, over the window's cycle-time bands."""
    timelines = item_timelines(request.snapshot)
    points = aging_wip(timelines, request.now, request.tz)
    header = request.header(
        "Aging work in progress",
        f"bands: cycle times of items finished in the last {request.window_days} days",
    )
    if not points:
        return plot_empty(
            header,
            "Nothing is in progress right now.",
            "Items appear here from the moment they are started.",
            request.dpi,
        )
    finished = cycle_time_points(timelines, request.window_start, request.now, request.tz)
    percentiles = cycle_time_percentiles([float(p.cycle_time_days) for p in finished])
    columns = request.statuses_in(Stage.WAITING, Stage.ACTIVE, Stage.BLOCKED)
    return plot_aging(points, columns, percentiles, header, request.dpi)


def plot_aging(
    points: Sequence[AgingPoint],
    columns: Sequence[str],
    percentiles: Mapping[int, float] | None,
    header: Header,
    dpi: int = 100,
) -> Chart:
    """Draw ``points`` by column (board order) and age in AA days over the percentile bands."""
    columns = [*columns, *sorted({p.status for p in points} - set(columns))]
    figure, (ax,) = new_figure(header, dpi, right=LABELLED_RIGHT)
    threshold = percentiles.get(AT_RISK) if percentiles else None
    at_risk = [p for p in points if threshold is not None and p.age_days >= threshold]
    risky_keys = {p.key for p in at_risk}
    top = max([p.age_days for p in points] + list((percentiles or {}).values())) * 1.1 + 1
    positions = _positions(points, columns, top)
    ax.set_ylim(0, top)
    ax.set_xlim(-0.6, len(columns) - 0.4)
    if percentiles:
        _shade_bands(ax, percentiles, top)
    for blocked, marker in ((False, "o"), (True, "s")):
        for risky in (False, True):
            chosen = [p for p in points if p.blocked is blocked and (p.key in risky_keys) is risky]
            ax.scatter(
                [positions[p.key] for p in chosen],
                [p.age_days for p in chosen],
                s=150 if risky else 90,
                marker=marker,
                color=VERMILLION if risky else BLUE,
                edgecolors=INK if risky else "white",
                linewidths=1.2,
                zorder=4,
            )
    oldest = sorted(at_risk or points, key=lambda p: (-p.age_days, p.key))[:LABELLED]
    nudges = _label_nudges(oldest, top)
    for p in oldest:
        nudged = nudges[p.key] != 0
        ax.annotate(
            plain(p.key),
            (positions[p.key], p.age_days),
            xytext=(LEADER_PT if nudged else 9, nudges[p.key]),
            textcoords="offset points",
            va="center",
            fontsize=NOTE_SIZE,
            fontweight="bold",
            color=INK,
            family=FONT,
            zorder=5,
            arrowprops={"arrowstyle": "-", "color": INK, "linewidth": 1.0, "shrinkB": 7}
            if nudged
            else None,
        )
    counts = Counter(p.status for p in points)
    ax.set_xticks(
        range(len(columns)),
        [plain(f"{textwrap.fill(c, 13)}\n({counts[c]})") for c in columns],
        fontsize=TICK_SIZE - 1,
    )
    ax.xaxis.grid(False)
    whole_numbers(ax)
    label_axes(ax, None, "Age since start (days)")
    if percentiles:
        labels = [EdgeLabel(percentiles[q], percent_label(q, percentiles[q]), c) for q, c in BANDS]
        label_right_edge(ax, labels)
    else:
        note(ax, "cycle-time bands appear once 5 items have finished")
    _legend(ax, bool(at_risk))
    return Chart(figure, header, _alt_text(points, at_risk, threshold, oldest, header))


def _positions(
    points: Sequence[AgingPoint], columns: Sequence[str], top: float
) -> dict[str, float]:
    """X of each item: its column, nudged sideways (beeswarm) so no two markers overlap."""
    width_pt, height_pt = axes_size_points(LABELLED_RIGHT)
    x_scale, y_scale = width_pt / (len(columns) + 0.2), height_pt / top
    offsets = [0.0]
    for i in range(1, int(SPREAD * x_scale / MARKER_PT) + 1):
        offsets += [i * MARKER_PT / x_scale, -i * MARKER_PT / x_scale]
    positions: dict[str, float] = {}
    placed: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for p in sorted(points, key=lambda p: (p.age_days, p.key)):
        taken = placed[p.status]
        y = p.age_days * y_scale
        near = [x for x, other_y in taken if abs(other_y - y) < MARKER_PT]
        offset = next(
            (o for o in offsets if all(abs(o * x_scale - x) >= MARKER_PT for x in near)),
            offsets[-1],
        )
        taken.append((offset * x_scale, y))
        positions[p.key] = columns.index(p.status) + offset
    return positions


def _label_nudges(labelled: Sequence[AgingPoint], top: float) -> dict[str, float]:
    """Points to move each key label down so labels in one column never overlap."""
    y_scale = axes_size_points(LABELLED_RIGHT)[1] / top
    nudges: dict[str, float] = {}
    lowest: dict[str, float] = {}
    for p in sorted(labelled, key=lambda p: (-p.age_days, p.key)):
        y = p.age_days * y_scale
        placed = min(y, lowest.get(p.status, y + LABEL_GAP_PT) - LABEL_GAP_PT)
        nudges[p.key] = placed - y
        lowest[p.status] = placed
    return nudges


def _shade_bands(ax: Axes, percentiles: Mapping[int, float], top: float) -> None:
    low = 0.0
    for q, colour in BANDS:
        high = percentiles[q]
        ax.axhspan(low, high, color=colour, alpha=0.14, linewidth=0, zorder=1)
        ax.axhline(high, color=colour, linewidth=1.6, zorder=2)
        low = high
    ax.axhspan(low, top, color=VERMILLION, alpha=0.2, linewidth=0, zorder=1)


def _legend(ax: Axes, any_at_risk: bool) -> None:
    handles = [
        Line2D([], [], marker="o", linestyle="", color=BLUE, markersize=10, label="in progress"),
        Line2D([], [], marker="s", linestyle="", color=BLUE, markersize=10, label="blocked"),
    ]
    if any_at_risk:
        handles.append(
            Line2D(
                [],
                [],
                marker="o",
                linestyle="",
                color=VERMILLION,
                markeredgecolor=INK,
                markersize=11,
                label=f"older than {AT_RISK}% of finished items",
            )
        )
    ax.legend(
        handles=handles,
        loc="lower right",
        bbox_to_anchor=(1.0, 1.0),
        ncols=len(handles),
        frameon=True,
        framealpha=0.9,
        edgecolor="none",
        prop={"family": FONT, "size": NOTE_SIZE - 1},
    )


def _alt_text(
    points: Sequence[AgingPoint],
    at_risk: Sequence[AgingPoint],
    threshold: float | None,
    oldest: Sequence[AgingPoint],
    header: Header,
) -> str:
    facts = [header.alt_intro("Aging work in progress"), f"{plural(len(points), 'item')}."]
    if threshold is None:
        facts.append("No cycle-time percentiles yet (fewer than 5 finished items).")
    else:
        facts.append(
            f"{len(at_risk)} at or past the {AT_RISK}th percentile of cycle time "
            f"({days_text(threshold)})."
        )
    named = ", ".join(f"{p.key} ({days_text(p.age_days)} in {p.status})" for p in oldest)
    facts.append(f"Oldest: {named}.")
    return " ".join(facts)
