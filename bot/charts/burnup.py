"""Burn-up of a scope (an epic, a label, a release, a filter): done and total items per day.

The history is the scope's items done and in scope at the end of each day. From today the fan
spreads from the items done to the dates the Monte Carlo forecast finishes the scope at 50, 85
and 95 % (:func:`insights.scopes.scope_forecast`), where the total has grown at the scope's
growth per week; the target date is a vertical line, and the title says the chance to make it.

Callers with the database pass the scope (the team's first, :func:`bot.tracked_scopes.team_scopes`,
when none is named): the chart reads no database, so without one it draws the first of app.yaml's.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from matplotlib.axes import Axes

from bot.charts.empty import plot_empty
from bot.charts.request import ChartRequest
from bot.charts.style import (
    BLUE,
    FONT,
    GREEN,
    INK,
    MUTED,
    NOTE_SIZE,
    ORANGE,
    VERMILLION,
    Chart,
    Header,
    date_axis,
    day_label,
    label_axes,
    new_figure,
    note,
    pad_dates,
    plain,
    short_day,
    text_colour,
    whole_numbers,
)
from insights.scopes import ScopeForecast, ScopeRef, scope_forecast

FAN = {50: GREEN, 85: ORANGE, 95: VERMILLION}
"""The forecast's confidence levels and their colours."""
FAN_SHADE = "#9CC3E0"
NEVER_DAYS = 120
"""How far a fan that never finishes is drawn, in days after today."""


def draw_burnup(request: ChartRequest, scope: ScopeRef | None) -> Chart:
    """The burn-up of ``scope`` (None: app.yaml's first scope), with its forecast fan."""
    configured = (ref.at_vendor(request.snapshot) for ref in request.team.scope_refs())
    scope = scope or next(configured, None)
    if scope is None:
        return plot_empty(
            request.header("Burn-up", "no scope tracked"),
            "The team tracks no scope yet.",
            "Track one with /vsm track release 2.3 or under teams[].scopes in app.yaml, or name "
            "one: --epic KEY, --label NAME, --release NAME, --filter ID.",
            request.dpi,
        )
    forecast = scope_forecast(request.snapshot, scope, request.now, request.tz)
    chance = ""
    if forecast.probability is not None and scope.target is not None:
        chance = f": {forecast.probability:.0%} chance by {day_label(scope.target)}"
    window = f"forecast from {forecast.basis_days} days of throughput"
    header = request.header(f"Burn-up of {scope.name}{chance}", window)
    if not forecast.history:
        return plot_empty(
            header,
            f"No open or done item is in the {scope.kind} {scope.key}.",
            "Check its key or name: cancelled items and epics themselves are left out.",
            request.dpi,
        )
    return plot_burnup(forecast, header, request.dpi)


def plot_burnup(forecast: ScopeForecast, header: Header, dpi: int = 100) -> Chart:
    """Draw the history of ``forecast`` as two step lines and its future as a fan."""
    figure, (ax,) = new_figure(header, dpi)
    days = [_noon(day) for day, _, _ in forecast.history]
    ax.step(days, [t for _, _, t in forecast.history], where="post", color=INK, linewidth=2.2)
    ax.step(days, [d for _, d, _ in forecast.history], where="post", color=BLUE, linewidth=2.6)
    today = forecast.today or forecast.history[-1][0]
    ends = _fan_ends(forecast, today)
    if forecast.remaining > 0:
        _fan(ax, forecast, today, ends)
    target = forecast.ref.target
    shown = [forecast.history[0][0], today, *(day for day, _ in ends.values())]
    if target is not None:
        shown.append(target)
        ax.axvline(_noon(target), color=MUTED, linewidth=1.8, linestyle="--", zorder=2)
        ax.annotate(
            plain(f"target {short_day(target)}"),
            (_noon(target), 0.0),  # at the foot of its line: the fan's labels are up top
            xycoords=("data", "axes fraction"),
            xytext=(-5, 4),
            textcoords="offset points",
            ha="right",
            va="bottom",
            fontsize=NOTE_SIZE,
            color=MUTED,
            family=FONT,
        )
    pad_dates(ax, sorted(shown))
    top = max([t for _, _, t in forecast.history] + [total for _, total in ends.values()])
    ax.set_ylim(0, max(1.0, top * 1.12))
    date_axis(ax)
    whole_numbers(ax)
    label_axes(ax, None, "Items (black: in scope, blue: done)")
    if forecast.too_short:
        note(ax, f"History too short to trust: {forecast.too_short}.")
    elif forecast.never:
        note(ax, "Never done at this pace: the scope grows as fast as the team finishes.")
    return Chart(figure, header, _alt_text(forecast, header))


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12))


def _fan_ends(forecast: ScopeForecast, today: date) -> dict[int, tuple[date, float]]:
    """Per confidence, the day the scope is done and its total then (grown at its weekly pace).

    A date beyond the horizon is drawn ``NEVER_DAYS`` out, the total still growing.
    """
    ends = {}
    for q, day in forecast.dates.items():
        if q not in FAN or forecast.remaining <= 0:
            continue
        end = day if day is not None else today + timedelta(days=NEVER_DAYS)
        grown = forecast.growth_per_week * (end - today).days / 7
        ends[q] = (end, forecast.total + grown)
    return ends


def _fan(
    ax: Axes, forecast: ScopeForecast, today: date, ends: dict[int, tuple[date, float]]
) -> None:
    """Shade from today's done items to the 50 % and 95 % ends; a line to each end, labelled."""
    start = (_noon(today), float(forecast.done))
    if 50 in ends and 95 in ends:
        corners = [start, _point(ends[50]), _point(ends[95])]
        ax.fill([x for x, _ in corners], [y for _, y in corners], color=FAN_SHADE, alpha=0.5, lw=0)
    if forecast.growth_per_week > 0 and ends:
        last = max(ends.values())
        ax.plot(
            [_noon(today), _noon(last[0])],
            [forecast.total, last[1]],
            color=INK,
            linewidth=1.6,
            linestyle=":",
        )
    for q, end in sorted(ends.items()):
        x, y = _point(end)
        ax.plot([start[0], x], [start[1], y], color=FAN[q], linewidth=2.2, zorder=4)
        ax.plot([x], [y], marker="o", color=FAN[q], markersize=8, zorder=5)
        done = forecast.dates.get(q)
        text = f"{q}%: {short_day(done)}" if done is not None else f"{q}%: not within 10 years"
        ax.annotate(
            plain(text),
            (x, y),
            xytext=(-6, 8 + 16 * list(FAN).index(q)),
            textcoords="offset points",
            ha="right",
            fontsize=NOTE_SIZE,
            fontweight="bold",
            color=text_colour(FAN[q]),
            family=FONT,
            zorder=6,
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1.5},
        )


def _point(end: tuple[date, float]) -> tuple[datetime, float]:
    return _noon(end[0]), end[1]


def _alt_text(forecast: ScopeForecast, header: Header) -> str:
    facts = [
        header.alt_intro(f"Burn-up of {forecast.ref.name}"),
        f"{forecast.done} of {forecast.total} items done, {forecast.remaining} left, "
        f"the scope growing {forecast.growth_per_week:.1f} items a week.",
    ]
    if forecast.remaining > 0:
        facts.append(_dates_text(forecast.dates.items()) + ".")
    if forecast.ref.target is not None and forecast.probability is not None:
        facts.append(
            f"{forecast.probability:.0%} chance to be done by {day_label(forecast.ref.target)}."
        )
    if forecast.too_short:
        facts.append(f"History too short to trust: {forecast.too_short}.")
    return " ".join(facts)


def _dates_text(dates: Iterable[tuple[int, date | None]]) -> str:
    return "; ".join(
        f"{q}% chance done by {day_label(d)}" if d else f"{q}% chance: not within 10 years"
        for q, d in sorted(dates)
    )
