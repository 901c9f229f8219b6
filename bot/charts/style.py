"""The one look every chart shares: palette, type sizes, header, axes and the PNG encoder.

Sized for Slack: a 12 x 6.75 inch figure (1200 x 675 px at 100 dpi) that Slack shrinks to about
480 px wide in a message, so type is large and text is sparse. Colours are the Okabe-Ito palette,
which stays distinguishable with the common colour-vision deficiencies. Text that may hold a
vendor's or a person's words (statuses, keys, team names) is drawn through :func:`plain`, never
as mathtext. Nothing here touches pyplot, and every style is set on the artists themselves, so
figures can be drawn in parallel threads. One global ``rcParams`` entry is set, once, on import:
``text.hinting``, which matplotlib reads only from there. Glyphs are drawn unhinted: hinting fits
them to the pixel grid of the full-size image, which Slack shrinks anyway, and drawing without it
saves a tenth or more of a chart's CPU time.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

import matplotlib
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.dates import AutoDateLocator, date2num, num2date
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator

WIDTH_IN, HEIGHT_IN = 12.0, 6.75

# Okabe-Ito (Okabe & Ito 2008, "Color Universal Design").
BLACK = "#000000"
ORANGE = "#E69F00"
SKY_BLUE = "#56B4E9"
GREEN = "#009E73"
YELLOW = "#F0E442"
BLUE = "#0072B2"
VERMILLION = "#D55E00"
PURPLE = "#CC79A7"
DARK_YELLOW = "#8F8400"
"""Okabe-Ito yellow darkened for text on white (the original is too light to read)."""

LIGHT_GREY = "#B5B5B5"
INK = "#222222"
MUTED = "#555555"
GRID = "#DDDDDD"

TITLE_SIZE = 22
SUBTITLE_SIZE = 15
LABEL_SIZE = 16
TICK_SIZE = 14
NOTE_SIZE = 14
FONT = "DejaVu Sans"
"""Bundled with matplotlib, so every machine renders the same glyphs."""

PNG_COMPRESSION = 3
"""zlib level: files within 5 % of the default level 6, encoded in two thirds of the time."""
TEXT_HINTING = "no_hinting"
"""How glyphs are drawn: unhinted (see the module docstring)."""
MARGINS = {"left": 0.085, "right": 0.975, "top": 0.80, "bottom": 0.12}
MAX_DATE_TICKS = 8
LONG_AXIS_DAYS = 180
"""Date axes longer than this label their ticks with month and year instead of day and month."""
LABELLED_RIGHT = 0.835
"""Right edge of the axes when reference lines are labelled beyond it."""

matplotlib.rcParams["text.hinting"] = TEXT_HINTING


@dataclass(frozen=True)
class Header:
    """What every chart's title says: which chart, for which team, over what, as of when."""

    chart: str
    team: str
    window: str
    as_of: date

    @property
    def title(self) -> str:
        """The headline: the chart and the team, e.g. ``Cycle time - payments`` (an en dash)."""
        return f"{self.chart} \N{EN DASH} {self.team}"

    @property
    def subtitle(self) -> str:
        """The window and as-of date, e.g. ``finished in the last 90 days · as of 25 Nov 2026``."""
        return f"{self.window} \N{MIDDLE DOT} as of {day_label(self.as_of)}"

    def alt_intro(self, what: str) -> str:
        """The opening of the alt text: ``Cycle-time scatter for payments, ... as of ...:``."""
        return f"{what} for {self.team}, {self.window}, as of {day_label(self.as_of)}:"


@dataclass(frozen=True)
class Chart:
    """A drawn figure, its header and the alt text that says what it shows."""

    figure: Figure
    header: Header
    alt_text: str


def plain(text: str) -> str:
    """``text`` as matplotlib must draw it: literally, never as mathtext.

    Matplotlib reads a string with an even number of ``$`` as mathtext, and a vendor status
    such as ``Wait $x^$`` would then fail the whole chart. An escaped ``\\$`` is drawn as ``$``.
    """
    return text.replace("$", r"\$")


def day_label(day: date) -> str:
    """A short unambiguous date, e.g. ``25 Nov 2026``."""
    return f"{day.day} {day:%b %Y}"


def short_day(day: date) -> str:
    """A date without its year, e.g. ``25 Nov``."""
    return f"{day.day} {day:%b}"


def plural(count: int, noun: str) -> str:
    """``1 item``, ``3 items``."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def days_text(days: float) -> str:
    """``1 day``, ``9 days``, ``2.5 days``."""
    shown = f"{days:.0f}" if float(days).is_integer() else f"{days:.1f}"
    return f"{shown} day" if shown == "1" else f"{shown} days"


def percent_label(q: int, days: float) -> str:
    """A percentile line's label, e.g. ``85%: 13 days``."""
    return f"{q}%: {days_text(days)}"


def local_naive(instant: datetime, tz: tzinfo) -> datetime:
    """``instant`` as wall-clock time in ``tz`` (what the date axes plot)."""
    return instant.astimezone(tz).replace(tzinfo=None)


def axes_size_points(right: float = MARGINS["right"]) -> tuple[float, float]:
    """Width and height in points of a single-row chart's axes (for layout maths)."""
    width = (right - MARGINS["left"]) * WIDTH_IN * 72
    return width, (MARGINS["top"] - MARGINS["bottom"]) * HEIGHT_IN * 72


def new_figure(
    header: Header,
    dpi: int,
    *,
    rows: int = 1,
    sharex: bool = False,
    right: float = MARGINS["right"],
) -> tuple[Figure, list[Axes]]:
    """A figure with the shared header and ``rows`` styled axes stacked vertically."""
    figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=dpi, facecolor="white")
    figure.text(
        MARGINS["left"] - 0.06,
        0.945,
        plain(header.title),
        fontsize=TITLE_SIZE,
        fontweight="bold",
        color=INK,
        family=FONT,
        va="center",
    )
    figure.text(
        MARGINS["left"] - 0.06,
        0.885,
        plain(header.subtitle),
        fontsize=SUBTITLE_SIZE,
        color=MUTED,
        family=FONT,
        va="center",
    )
    grid = figure.add_gridspec(rows, 1, hspace=0.28, **{**MARGINS, "right": right})
    axes: list[Axes] = []
    for row in range(rows):
        share = axes[0] if sharex and axes else None
        axes.append(figure.add_subplot(grid[row, 0], sharex=share))
    for ax in axes:
        style_axes(ax)
    return figure, axes


def style_axes(ax: Axes) -> None:
    """Light frame, horizontal grid behind the data, large tick labels."""
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(MUTED)
    ax.set_axisbelow(True)
    ax.yaxis.grid(True, color=GRID, linewidth=1.0)
    ax.tick_params(labelsize=TICK_SIZE, colors=INK, labelfontfamily=FONT)


def label_axes(ax: Axes, x: str | None, y: str | None) -> None:
    """Axis titles with their units."""
    if x:
        ax.set_xlabel(plain(x), fontsize=LABEL_SIZE, color=INK, family=FONT)
    if y:
        ax.set_ylabel(plain(y), fontsize=LABEL_SIZE, color=INK, family=FONT)


def date_axis(ax: Axes, marks: Sequence[date] = ()) -> None:
    """Readable day ticks: a handful, ``7 Sep`` style (``Jan 2028`` on axes over half a year).

    With ``marks`` (e.g. the Mondays of weekly values) the ticks sit on every k-th of them,
    counted back from the last so the latest is always labelled.
    """
    if marks:
        step = math.ceil(len(marks) / MAX_DATE_TICKS)
        ax.xaxis.set_major_locator(FixedLocator(date2num(list(marks)[::-1][::step])))
    else:
        ax.xaxis.set_major_locator(AutoDateLocator(minticks=4, maxticks=MAX_DATE_TICKS))

    def tick(value: float, _position: int | None = None) -> str:
        low, high = ax.get_xlim()
        day = num2date(value).date()
        return f"{day:%b %Y}" if high - low > LONG_AXIS_DAYS else short_day(day)

    ax.xaxis.set_major_formatter(FuncFormatter(tick))


def pad_dates(ax: Axes, days: Sequence[date], share: float = 0.03) -> None:
    """X limits from the first to the last day with a little room on both sides."""
    first, last = (datetime.combine(d, datetime.min.time()) for d in (days[0], days[-1]))
    pad = max(last - first, timedelta(days=1)) * share
    ax.set_xlim(first - pad, last + pad)


def whole_numbers(ax: Axes) -> None:
    """Y ticks on whole numbers only (days, counts)."""
    ax.yaxis.set_major_locator(MaxNLocator(nbins=7, integer=True, min_n_ticks=3))


def bars(
    ax: Axes, xs: Sequence[float], heights: Sequence[float], width: float, colour: str
) -> None:
    """Vertical bars centred on ``xs`` (numbers; ``date2num`` for days) as a single artist.

    One collection instead of one patch per bar: a histogram of hundreds of bars stays fast.
    """
    half = width / 2
    outlines = [
        [(x - half, 0.0), (x - half, h), (x + half, h), (x + half, 0.0)]
        for x, h in zip(xs, heights, strict=True)
    ]
    ax.add_collection(PolyCollection(outlines, facecolors=colour, edgecolors="none", zorder=3))
    ax.update_datalim([(min(xs) - half, 0.0), (max(xs) + half, max(heights))])
    ax.autoscale_view()


def note(ax: Axes, text: str) -> None:
    """A quiet remark in the top-left corner of the axes."""
    ax.text(
        0.01,
        0.98,
        plain(text),
        transform=ax.transAxes,
        ha="left",
        va="top",
        fontsize=NOTE_SIZE,
        color=MUTED,
        family=FONT,
        bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 2},
    )


@dataclass(frozen=True)
class EdgeLabel:
    """A reference line's label, written beyond the right edge of the axes at ``value``."""

    value: float
    text: str
    color: str


def label_right_edge(ax: Axes, labels: Sequence[EdgeLabel]) -> None:
    """Write ``labels`` just right of ``ax`` at their y values, nudged apart so none overlap.

    Call this once the y limits are final. Labels keep their order; a label is moved up just
    enough to clear the one below it, and the whole column moves down if it overflows the top.
    """
    low, high = ax.get_ylim()
    span = (high - low) or 1.0
    line = NOTE_SIZE * 1.35 / (ax.get_position().height * HEIGHT_IN * 72)
    ordered = sorted(labels, key=lambda item: item.value)
    heights = [line * (label.text.count("\n") + 1) for label in ordered]
    placed: list[float] = []
    for i, label in enumerate(ordered):
        y = (label.value - low) / span
        if placed:
            y = max(y, placed[-1] + (heights[i - 1] + heights[i]) / 2)
        placed.append(y)
    overflow = max(0.0, placed[-1] + heights[-1] / 2 - 1.02) if placed else 0.0
    for label, y in zip(ordered, placed, strict=True):
        ax.text(
            1.012,
            y - overflow,
            plain(label.text),
            transform=ax.transAxes,
            ha="left",
            va="center",
            fontsize=NOTE_SIZE,
            fontweight="bold",
            color=text_colour(label.color),
            family=FONT,
            linespacing=1.1,
            clip_on=False,
        )


def text_colour(colour: str) -> str:
    """A colour for text on white: the palette's lightest colours are darkened."""
    return {YELLOW: DARK_YELLOW, LIGHT_GREY: MUTED}.get(colour, colour)


def to_png(figure: Figure) -> bytes:
    """Encode ``figure`` as PNG at its own dpi; same figure, same bytes (no timestamp)."""
    buffer = io.BytesIO()
    FigureCanvasAgg(figure).print_png(
        buffer, metadata={"Software": None}, pil_kwargs={"compress_level": PNG_COMPRESSION}
    )
    return buffer.getvalue()
