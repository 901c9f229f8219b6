"""Monte Carlo forecast: how the simulated futures spread, with the 50/85/95 % marks.

"When will N items be done" draws the completion date of every trial; "how many by a date" draws
the number of items each trial finished. The marks are the forecast's own confidence values.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date, timedelta

from matplotlib.axes import Axes
from matplotlib.dates import date2num
from matplotlib.ticker import MaxNLocator

from bot.charts.empty import plot_empty
from bot.charts.request import ChartRequest
from bot.charts.style import (
    FONT,
    GREEN,
    NOTE_SIZE,
    ORANGE,
    VERMILLION,
    Chart,
    Header,
    bars,
    date_axis,
    day_label,
    label_axes,
    new_figure,
    pad_dates,
    plural,
    short_day,
    text_colour,
)
from insights.forecast import HowManyForecast, WhenForecast, forecast_basis
from insights.metrics.flow_items import item_timelines

MARKS = {50: GREEN, 85: ORANGE, 95: VERMILLION}
"""The confidence levels marked, and their colours."""
MAX_BARS = 60
"""More distinct outcomes than this are grouped, so the bars stay readable."""
BAR = "#9CC3E0"
"""A light blue, so the marks stand out on the bars."""


DEFAULT_DAYS_AHEAD = 14
"""Without ``--items`` or ``--by``: how many items in the next two weeks."""


def draw_forecast(request: ChartRequest) -> Chart:
    """The "when will N be done" forecast with ``forecast_items``, else "how many by a date"."""
    basis = forecast_basis(
        item_timelines(request.snapshot), request.now, request.tz, request.window_days
    )
    drawn_from = f"simulated from {basis.describe()}"
    if request.forecast_items is not None:
        n = request.forecast_items
        header = request.header(f"When will {plural(n, 'item')} be done?", drawn_from)
        when = basis.when(n)
        if when is not None and when.trial_days:
            return plot_when(when, header, request.dpi)
        reason = "No simulation finished them within ten years." if when else None
    else:
        target = request.forecast_date or request.today + timedelta(days=DEFAULT_DAYS_AHEAD)
        header = request.header(f"How many items by {day_label(target)}?", drawn_from)
        how_many = basis.how_many(target)
        if how_many is not None:
            return plot_how_many(how_many, header, request.dpi)
        reason = None
    return plot_empty(
        header,
        reason or f"No item finished in the last {request.window_days} days.",
        "A forecast needs some past throughput; try a longer --window.",
        request.dpi,
    )


def plot_when(forecast: WhenForecast, header: Header, dpi: int = 100) -> Chart:
    """Histogram of the trials' completion dates with the 50/85/95 % dates marked."""
    figure, (ax,) = new_figure(header, dpi)
    trials = len(forecast.trial_days)
    centres, shares, size = _histogram(forecast.trial_days)
    day_one = float(date2num(forecast.start)) - 1  # trial day 1 is the start date
    bars(ax, [day_one + c for c in centres], shares, size * 0.85, BAR)
    marks = {q: d for q, d in forecast.dates.items() if q in MARKS and d is not None}
    first, last = min(forecast.trial_days), max(forecast.trial_days)
    pad_dates(ax, [forecast.start + timedelta(days=d - 1) for d in (first, last)])
    names = {q: f"by {_date_text(d, forecast.start)}" for q, d in marks.items()}
    _mark(ax, dict(marks), names)
    date_axis(ax)
    x_title = "Date the last of them is done" + _bin_note(size, "days")
    label_axes(ax, x_title, f"Share of {trials:,} simulations (%)")
    return Chart(figure, header, _when_alt(forecast, marks, header))


def plot_how_many(forecast: HowManyForecast, header: Header, dpi: int = 100) -> Chart:
    """Histogram of items finished per trial with the 50/85/95 % counts marked."""
    figure, (ax,) = new_figure(header, dpi)
    trials = len(forecast.trial_totals)
    centres, shares, size = _histogram(forecast.trial_totals)
    bars(ax, centres, shares, size * 0.85, BAR)
    marks = {q: c for q, c in forecast.counts.items() if q in MARKS}
    _mark(ax, dict(marks), {q: f"{c} or more" for q, c in marks.items()})
    ax.xaxis.set_major_locator(MaxNLocator(nbins=10, integer=True))
    x_title = "Items done" + _bin_note(size, "counts")
    label_axes(ax, x_title, f"Share of {trials:,} simulations (%)")
    return Chart(figure, header, _how_many_alt(forecast, marks, header))


def _histogram(values: Sequence[int]) -> tuple[list[float], list[float], int]:
    """Bar centres, shares (%) and bar size: one bar per value, grouped when they are many."""
    low, high = min(values), max(values)
    size = max(1, math.ceil((high - low + 1) / MAX_BARS))
    groups = Counter((v - low) // size for v in values)
    keys = sorted(groups)
    centres = [low + k * size + (size - 1) / 2 for k in keys]
    return centres, [100 * groups[k] / len(values) for k in keys], size


def _bin_note(size: int, unit: str) -> str:
    return "" if size == 1 else f" (each bar: {size} {unit})"


def _date_text(day: date, start: date) -> str:
    return short_day(day) if day.year == start.year else day_label(day)


def _mark(ax: Axes, xs: Mapping[int, float | date], texts: Mapping[int, str]) -> None:
    """Vertical lines at ``xs``, labelled at staggered heights above the bars."""
    top = ax.get_ylim()[1] * 1.5
    ax.set_ylim(0, top)
    low, high = ax.get_xlim()
    for row, q in enumerate(sorted(xs, key=lambda q: xs[q])):
        x = xs[q]
        ax.axvline(x, color=MARKS[q], linewidth=2.4, zorder=4)
        share = (date2num(x) if isinstance(x, date) else x) - low
        left = share / (high - low) > 0.7
        ax.annotate(
            f"{q}% chance: {texts[q]}",
            (x, top * (0.94 - 0.08 * row)),
            xytext=(-7 if left else 7, 0),
            textcoords="offset points",
            ha="right" if left else "left",
            va="center",
            fontsize=NOTE_SIZE,
            fontweight="bold",
            color=text_colour(MARKS[q]),
            family=FONT,
            zorder=5,
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.9, "pad": 1.5},
        )


def _when_alt(forecast: WhenForecast, marks: Mapping[int, date], header: Header) -> str:
    items = plural(forecast.n, "item")
    facts = [header.alt_intro(f"Forecast of when {items} will be done")]
    if marks:
        facts.append(
            "; ".join(f"{q}% chance by {day_label(d)}" for q, d in sorted(marks.items())) + "."
        )
    missing = sorted(q for q, d in forecast.dates.items() if q in MARKS and d is None)
    if missing:
        facts.append(f"At {', '.join(f'{q}%' for q in missing)} not within the horizon.")
    facts.append(f"From {day_label(forecast.start)}, {len(forecast.trial_days):,} simulations.")
    return " ".join(facts)


def _how_many_alt(forecast: HowManyForecast, marks: Mapping[int, int], header: Header) -> str:
    facts = [
        header.alt_intro(
            f"Forecast of how many items will be done from {day_label(forecast.start)} "
            f"to {day_label(forecast.target)}"
        )
    ]
    facts.append("; ".join(f"{q}% chance of {c} or more" for q, c in sorted(marks.items())) + ".")
    facts.append(f"{len(forecast.trial_totals):,} simulations.")
    return " ".join(facts)
