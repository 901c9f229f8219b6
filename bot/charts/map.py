"""The value stream map (METRICS.md section 6), drawn from data the way Rother and Shook draw it.

One box per step of the team's stream with its median and p85 process time, its %C&A and the
items that passed it; a triangle before each box where work waits; underneath each row of boxes
the timeline ladder: each step's median wait up high, its median work (process time) down low.
Below, the stream's totals: lead time p50 and p85, activity ratio, rolled %C&A, how many items
were mapped and how many had no pull request. The wait or the work where most of the lead time
goes (:class:`insights.value_stream.Hotspot`) is drawn in vermillion and named.

Sized for a Slack thread: at most :data:`STEPS_PER_ROW` boxes a row (longer streams wrap into
more rows, and the figure grows taller), few words per box, large type. Step names are the
team's words (app.yaml) or its vendor's status names: drawn through :func:`plain`.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from datetime import timedelta

from matplotlib.axes import Axes
from matplotlib.patches import FancyBboxPatch, Polygon

from bot.charts import hotspot_words, percent, short_duration
from bot.charts.empty import plot_empty
from bot.charts.request import ChartRequest
from bot.charts.style import (
    BLUE,
    FONT,
    HEIGHT_IN,
    INK,
    MUTED,
    ORANGE,
    VERMILLION,
    WIDTH_IN,
    Chart,
    Header,
    new_figure,
    plain,
    plural,
)
from insights.metrics.flow_items import item_timelines
from insights.value_stream import (
    MIN_ITEMS,
    PROCESS_PART,
    WAIT_PART,
    Hotspot,
    StepStats,
    ValueStreamMap,
    resolve_steps,
    value_stream_map,
    workflow_of,
)

STEPS_PER_ROW = 6
"""Boxes a row holds while their words stay readable at phone width."""
SIDE_IN = 0.3
"""Inches left and right of the rows."""
TRIANGLE_IN = 0.8
"""Width of the wait (triangle) before each box; narrower in a full row (:data:`TIGHT_IN`)."""
TIGHT_IN = 0.58
MAX_BOX_IN = 2.4
BOX_IN = 2.15
"""Height of a box."""
LADDER_IN = 0.95
"""Height of the timeline ladder under a row of boxes, its labels included."""
ROW_GAP_IN = 0.35
SUBTITLE_Y = 0.885
"""Where :func:`new_figure` writes the subtitle, as a fraction of the figure's height."""
BELOW_SUBTITLE_IN = 0.3
SUMMARY_IN = 1.95
"""The hotspot line, the stream's totals and the legend at the bottom."""
LEGEND = (
    "Boxes: work p50 (large) and p85, or the wait where nobody works (orange); %C&A; items.\n"
    "Ladder: wait (orange, up) and work (blue, down), p50."
)
NAME_SIZE = 14
MIN_NAME_SIZE = 11
BIG_SIZE = 20
SMALL_SIZE = 13
LADDER_SIZE = 13
CARD_SIZE = 22
BOX_FILL = "#E8F2FA"
DARK_ORANGE = "#B07800"
"""Okabe-Ito orange darkened for large text on the pale box."""
WAIT_FILL = "#FBEFD6"
HOT_FILL = "#FBE3D6"
NAME_LINES = 2


def draw_map(request: ChartRequest) -> Chart:
    """The map of the items finished in the window, as the report and ``/vsm map`` count them."""
    days = request.window_days
    header = request.header("Value stream map", f"items finished in the last {days} days")
    snapshot = request.snapshot
    steps = resolve_steps(snapshot, workflow_of(snapshot), request.team.stream_steps())
    start = request.now - timedelta(days=days)  # the report's window (insights.report)
    vsm = value_stream_map(snapshot, item_timelines(snapshot), steps, start, request.now)
    return plot_map(vsm, header, request.dpi)


def plot_map(vsm: ValueStreamMap, header: Header, dpi: int = 100) -> Chart:
    """Draw ``vsm``: boxes, waits and ladder row by row, then the stream's totals."""
    mapped = [s for s in vsm.steps if s.items > 0]
    if vsm.items < MIN_ITEMS or not mapped:
        return plot_empty(
            header,
            f"{plural(vsm.items, 'item')} finished in the window with the steps of the stream.",
            f"The map needs {MIN_ITEMS} or more; try a longer window.",
            dpi,
        )
    rows = _rows(list(vsm.steps))
    content = BELOW_SUBTITLE_IN + len(rows) * _row_in() + SUMMARY_IN
    height = max(HEIGHT_IN, content / SUBTITLE_Y)
    figure, (ax,) = new_figure(header, dpi)
    figure.set_size_inches(WIDTH_IN, height)
    ax.set_position((0.0, 0.0, 1.0, 1.0))
    ax.set_axis_off()
    ax.set_xlim(0, WIDTH_IN)
    ax.set_ylim(0, height)
    top = SUBTITLE_Y * height - BELOW_SUBTITLE_IN
    for row in rows:
        _draw_row(ax, row, vsm.hotspot, top)
        top -= _row_in()
    _draw_summary(ax, vsm, top)
    return Chart(figure, header, _alt_text(vsm, header))


def _row_in() -> float:
    return BOX_IN + LADDER_IN + ROW_GAP_IN


def _rows(steps: list[StepStats]) -> list[list[StepStats]]:
    """The steps in balanced rows of at most :data:`STEPS_PER_ROW` (7 steps: 4 and 3)."""
    count = math.ceil(len(steps) / STEPS_PER_ROW)
    size = math.ceil(len(steps) / count)
    return [steps[i : i + size] for i in range(0, len(steps), size)]


def _widths(count: int) -> tuple[float, float]:
    """The width of the wait and of the box of each step in a row of ``count`` steps."""
    wait = TRIANGLE_IN if count < STEPS_PER_ROW else TIGHT_IN
    room = WIDTH_IN - 2 * SIDE_IN - count * wait
    return wait, min(MAX_BOX_IN, room / count)


def _draw_row(ax: Axes, row: Sequence[StepStats], hotspot: Hotspot | None, top: float) -> None:
    """One row: a wait triangle and a step box per step, and the ladder underneath."""
    wait_in, box = _widths(len(row))
    slot = wait_in + box
    left = (WIDTH_IN - slot * len(row)) / 2
    box_bottom = top - BOX_IN
    high, low = box_bottom - 0.3, box_bottom - 0.62
    for i, stats in enumerate(row):
        x = left + i * slot
        hot_wait = _is_hot(stats, hotspot, WAIT_PART)
        hot_box = _is_hot(stats, hotspot, PROCESS_PART)
        _triangle(ax, x + wait_in / 2, box_bottom + BOX_IN / 2, wait_in, hot_wait)
        _box(ax, stats, x + wait_in, box_bottom, box, hot_box)
        hot_colour = VERMILLION if hot_wait else INK
        ends = [x + wait_in, x + slot]
        ax.plot([x, ends[0]], [high, high], color=ORANGE, linewidth=3, solid_capstyle="butt")
        ax.plot([ends[0], ends[0]], [high, low], color=MUTED, linewidth=1.2)
        ax.plot(ends, [low, low], color=BLUE, linewidth=3, solid_capstyle="butt")
        if i + 1 < len(row):
            ax.plot([ends[1], ends[1]], [low, high], color=MUTED, linewidth=1.2)
        waited = short_duration(stats.wait_seconds_p50)
        worked = short_duration(stats.process_seconds_p50)
        _text(ax, x + wait_in / 2, high + 0.06, waited, LADDER_SIZE, hot_colour, "bottom", True)
        _text(ax, x + wait_in + box / 2, low - 0.06, worked, LADDER_SIZE, BLUE, "top", True)


def _is_hot(stats: StepStats, hotspot: Hotspot | None, part: str) -> bool:
    return hotspot is not None and hotspot.step == stats.step.name and hotspot.part == part


def _triangle(ax: Axes, x: float, y: float, width: float, hot: bool) -> None:
    """The classic inventory triangle: work waiting before the next box."""
    half = min(width * 0.4, TRIANGLE_IN * 0.32)
    corners = [(x - half, y - half * 0.9), (x + half, y - half * 0.9), (x, y + half * 0.9)]
    colour = VERMILLION if hot else ORANGE
    fill = HOT_FILL if hot else WAIT_FILL
    width = 2.5 if hot else 1.8
    ax.add_patch(Polygon(corners, facecolor=fill, edgecolor=colour, linewidth=width))


def _box(ax: Axes, stats: StepStats, x: float, y: float, width: float, hot: bool) -> None:
    """A process box: the step's name, median and p85 process time, %C&A, items passing."""
    pad = 0.06
    ax.add_patch(
        FancyBboxPatch(
            (x + pad, y + pad),
            width - 2 * pad,
            BOX_IN - 2 * pad,
            boxstyle="round,pad=0,rounding_size=0.08",
            facecolor=HOT_FILL if hot else BOX_FILL,
            edgecolor=VERMILLION if hot else BLUE,
            linewidth=3 if hot else 1.8,
        )
    )
    centre = x + width / 2
    name, size = _name(stats.step.name, width - 2 * pad)
    _text(ax, centre, y + BOX_IN - 0.16, name, size, INK, "top", True)
    if stats.items == 0:
        _text(ax, centre, y + 0.7, "no item\nhad this step", SMALL_SIZE, MUTED, "center", False)
        return
    p50 = short_duration(stats.process_seconds_p50)
    p85 = f"p85 {short_duration(stats.process_seconds_p85)}"
    colour = INK
    if stats.process_seconds_total == 0:  # a queue: nobody works in it, so show its wait
        p50, colour = short_duration(stats.wait_seconds_p50), DARK_ORANGE
        p85 = f"waiting, p85 {short_duration(stats.wait_seconds_p85)}"
    ca = f"C&A {percent(stats.complete_accurate)}"
    _text(ax, centre, y + 1.12, p50, BIG_SIZE, colour, "bottom", True)
    _text(ax, centre, y + 1.1, p85, SMALL_SIZE, MUTED, "top", False)
    _text(ax, centre, y + 0.45, ca, SMALL_SIZE, INK, "bottom", False)
    _text(ax, centre, y + 0.42, plural(stats.items, "item"), SMALL_SIZE, MUTED, "top", False)


def _draw_summary(ax: Axes, vsm: ValueStreamMap, top: float) -> None:
    """The hotspot in words, then the stream's totals as four large figures."""
    if vsm.hotspot is not None:
        words = _hotspot_text(vsm.hotspot)
        _text(ax, WIDTH_IN / 2, top + 0.1, words, SMALL_SIZE + 2, VERMILLION, "center", True)
    lead = f"{short_duration(vsm.lead_seconds_p50)} / {short_duration(vsm.lead_seconds_p85)}"
    cards = [
        (lead, "lead time p50 / p85"),
        (percent(vsm.activity_ratio), "activity ratio"),
        (percent(vsm.rolled_complete_accurate), "rolled %C&A"),
        (str(vsm.items), f"items, {vsm.no_pr} without a PR"),
    ]
    width = (WIDTH_IN - 2 * SIDE_IN) / len(cards)
    for i, (figure, label) in enumerate(cards):
        x = SIDE_IN + (i + 0.5) * width
        _text(ax, x, top - 0.45, figure, CARD_SIZE, INK, "center", True)
        _text(ax, x, top - 0.85, label, SMALL_SIZE, MUTED, "center", False)
    _text(ax, WIDTH_IN / 2, top - 1.15, LEGEND, SMALL_SIZE - 1, MUTED, "top", False)


def _hotspot_text(hotspot: Hotspot) -> str:
    """``Where the time goes: Release (waiting), 41% of lead time, up from 28%``."""
    return f"Where the time goes: {hotspot_words(hotspot)}"


def _text(
    ax: Axes, x: float, y: float, text: str, size: float, colour: str, va: str, bold: bool
) -> None:
    ax.text(
        x,
        y,
        plain(text),
        ha="center",
        va=va,
        fontsize=size,
        fontweight="bold" if bold else "normal",
        color=colour,
        family=FONT,
        linespacing=1.15,
    )


def _name(name: str, width: float) -> tuple[str, int]:
    """The step's name wrapped to a box ``width`` inches wide, and its type size.

    At most :data:`NAME_LINES` lines; a long word gets smaller type (down to
    :data:`MIN_NAME_SIZE`) before it is broken.
    """
    longest = max((len(word) for word in name.split()), default=0)
    size = NAME_SIZE
    while size > MIN_NAME_SIZE and longest > _chars(width, size):
        size -= 1
    chars = _chars(width, size)
    lines = textwrap.wrap(name, chars) or [""]
    if len(lines) > NAME_LINES:
        rest = " ".join(lines[NAME_LINES - 1 :])
        lines = [*lines[: NAME_LINES - 1], rest[: chars - 1] + "\N{HORIZONTAL ELLIPSIS}"]
    return "\n".join(lines), size


def _chars(width: float, size: int) -> int:
    """Characters of bold type of ``size`` points that fit ``width`` inches (about)."""
    return max(4, int(width * 72 / (size * 0.63)))


def _alt_text(vsm: ValueStreamMap, header: Header) -> str:
    facts = [header.alt_intro("Value stream map")]
    p50, p85 = short_duration(vsm.lead_seconds_p50), short_duration(vsm.lead_seconds_p85)
    facts.append(
        f"{plural(vsm.items, 'item')} ({vsm.no_pr} without a pull request); lead time p50 {p50}, "
        f"p85 {p85}; activity ratio {percent(vsm.activity_ratio)}; rolled %C&A "
        f"{percent(vsm.rolled_complete_accurate)}."
    )
    for stats in vsm.steps:
        work, wait = (
            short_duration(stats.process_seconds_p50),
            short_duration(stats.wait_seconds_p50),
        )
        facts.append(
            f"{stats.step.name}: {plural(stats.items, 'item')}, work p50 {work}, wait p50 {wait}, "
            f"C&A {percent(stats.complete_accurate)}."
        )
    if vsm.hotspot is not None:
        facts.append(_hotspot_text(vsm.hotspot) + ".")
    return " ".join(facts)
