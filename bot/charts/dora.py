"""DORA trend: production deployments and the median lead time for changes, week by week."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from matplotlib.axes import Axes
from matplotlib.dates import date2num

from bot.charts.empty import plot_empty
from bot.charts.request import ChartRequest
from bot.charts.style import (
    BLUE,
    FONT,
    NOTE_SIZE,
    ORANGE,
    Chart,
    Header,
    bars,
    date_axis,
    days_text,
    label_axes,
    new_figure,
    pad_dates,
    plural,
    short_day,
    whole_numbers,
)
from insights.dora import DoraMetrics, DoraWeek, dora_metrics, dora_weekly
from insights.item_timeline import day_start, week_start

HOUR = 3600.0
DAY = 86400.0


def draw_dora(request: ChartRequest) -> Chart:
    """The complete Monday weeks of the window, and the DORA metrics over those weeks."""
    end = week_start(request.today)
    weeks = -(-request.window_days // 7)
    start = end - timedelta(weeks=weeks)
    header = request.header("DORA trend", f"last {weeks} complete weeks")
    trend = dora_weekly(request.snapshot, start, end, request.tz)
    if not any(w.deployments for w in trend):
        return plot_empty(
            header,
            f"No successful production deployment in the last {weeks} complete weeks.",
            "Connect a source that reports deployments (GitHub, GitLab) to see this chart.",
            request.dpi,
        )
    overall = dora_metrics(
        request.snapshot, day_start(start, request.tz), day_start(end, request.tz), request.tz
    )
    return plot_dora(trend, overall, header, request.dpi)


def plot_dora(
    weeks: Sequence[DoraWeek], overall: DoraMetrics, header: Header, dpi: int = 100
) -> Chart:
    """Deployments per week (bars, top) and median lead time for changes (line, bottom)."""
    figure, (deploys, lead) = new_figure(header, dpi, rows=2, sharex=True)
    xs = [w.week_start for w in weeks]
    counts = [w.deployments for w in weeks]
    bars(deploys, date2num(xs), counts, 5.0, BLUE)
    deploys.set_ylim(0, max(1, *counts) * 1.2)
    whole_numbers(deploys)
    label_axes(deploys, None, "Deploys")
    deploys.tick_params(labelbottom=False)
    in_days = max((w.lead_time_seconds_median or 0.0) for w in weeks) >= 2 * DAY
    unit, scale = ("days", DAY) if in_days else ("hours", HOUR)
    known = [(x, w.lead_time_seconds_median / scale) for x, w in zip(xs, weeks, strict=True)
             if w.lead_time_seconds_median is not None]  # fmt: skip
    lead.plot(
        [x for x, _ in known],
        [y for _, y in known],
        color=ORANGE,
        linewidth=2.2,
        marker="o",
        markersize=8,
        zorder=3,
    )
    lead.set_ylim(0, max([1.0, *(y for _, y in known)]) * 1.25)
    label_axes(lead, "Week starting (Monday)", f"Lead time ({unit})")
    pad_dates(lead, xs, share=0.04)
    date_axis(lead, xs)
    _panel_title(deploys, "Production deployments per week" + _frequency_fact(overall), BLUE)
    lead_fact = overall.lead_time_for_changes_seconds_median
    _panel_title(
        lead,
        "Median lead time for changes (first commit to production)"
        + (f" \N{MIDDLE DOT} {_lead_text(lead_fact)} overall" if lead_fact is not None else ""),
        ORANGE,
    )
    return Chart(figure, header, _alt_text(weeks, overall, header))


def _panel_title(ax: Axes, text: str, colour: str) -> None:
    ax.text(
        0.0,
        1.03,
        text,
        transform=ax.transAxes,
        fontsize=NOTE_SIZE,
        fontweight="bold",
        color=colour,
        family=FONT,
        va="bottom",
    )


def _frequency_fact(overall: DoraMetrics) -> str:
    parts = []
    if overall.deployment_frequency_per_week is not None:
        parts.append(f"{overall.deployment_frequency_per_week:.1f} a week")
    if overall.change_failure_rate is not None:
        parts.append(f"{overall.change_failure_rate:.0%} led to an incident")
    return "".join(f" \N{MIDDLE DOT} {part}" for part in parts)


def _lead_text(seconds: float) -> str:
    return days_text(round(seconds / DAY, 1)) if seconds >= 2 * DAY else f"{seconds / HOUR:.1f} h"


def _alt_text(weeks: Sequence[DoraWeek], overall: DoraMetrics, header: Header) -> str:
    facts = [header.alt_intro("DORA trend")]
    if overall.deployment_frequency_per_week is not None:
        facts.append(f"{overall.deployment_frequency_per_week:.1f} deployments a week.")
    lead = overall.lead_time_for_changes_seconds_median
    if lead is not None:
        facts.append(f"Median lead time for changes {_lead_text(lead)}.")
    if overall.change_failure_rate is not None:
        facts.append(f"Change failure rate {overall.change_failure_rate:.0%}.")
    latest = weeks[-1]
    facts.append(
        f"Latest week ({short_day(latest.week_start)}): {plural(latest.deployments, 'deployment')}"
        + (
            f", lead time {_lead_text(latest.lead_time_seconds_median)}."
            if latest.lead_time_seconds_median is not None
            else "."
        )
    )
    return " ".join(facts)
