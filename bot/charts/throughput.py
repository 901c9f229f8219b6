"""Throughput run chart: items finished per day or week, with the average and the XmR limits.

Points outside the natural process limits are signals worth a conversation; they are drawn in
vermillion. Inside the limits, ups and downs are the system's usual noise.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from bot.charts.empty import plot_empty
from bot.charts.request import ChartRequest
from bot.charts.style import (
    BLACK,
    BLUE,
    FONT,
    INK,
    LABELLED_RIGHT,
    NOTE_SIZE,
    ORANGE,
    VERMILLION,
    Chart,
    EdgeLabel,
    Header,
    date_axis,
    day_label,
    label_axes,
    label_right_edge,
    new_figure,
    note,
    pad_dates,
    plural,
    short_day,
    whole_numbers,
)
from insights.item_timeline import week_start
from insights.metrics.flow_items import item_timelines
from insights.metrics.shared import Period, PeriodCount
from insights.metrics.throughput import throughput
from insights.xmr import XmrLimits, XmrSignal, xmr_limits, xmr_signals

PERIOD_WORDS = {"day": ("a day", "Day"), "week": ("a week", "Week starting (Monday)")}
DAILY_UP_TO = 31
"""Windows up to this many days are drawn per day; longer ones per week."""
SIGNALS_NAMED = 3
"""Periods named per signal rule in the alt text."""
RULE_WORDS = {
    "outside_limits": "outside the limits",
    "three_of_four": "3 of 4 near a limit",
    "run_of_eight": "8 in a row on one side of the average",
    "range": "a jump beyond the range limit",
}


def draw_throughput(request: ChartRequest) -> Chart:
    """Items finished per day (short windows) or per complete week (longer ones)."""
    period: Period = "day" if request.window_days <= DAILY_UP_TO else "week"
    if period == "day":
        end, span = request.today, f"last {request.window_days} full days"
        start = end - timedelta(days=request.window_days)
    else:
        end = week_start(request.today)
        weeks = -(-request.window_days // 7)
        start, span = end - timedelta(weeks=weeks), f"last {weeks} complete weeks"
    header = request.header("Throughput", span)
    periods = throughput(item_timelines(request.snapshot), start, end, request.tz, period)
    if sum(p.count for p in periods) == 0:
        return plot_empty(
            header,
            f"No item finished in the {span}.",
            "The run chart appears once items are done; try a longer --window.",
            request.dpi,
        )
    counts = [float(p.count) for p in periods]
    limits = xmr_limits(counts, floor=0.0)
    signals = xmr_signals(counts, limits) if limits else []
    return plot_throughput(periods, period, limits, signals, header, request.dpi)


def plot_throughput(
    periods: Sequence[PeriodCount],
    period: Period,
    limits: XmrLimits | None,
    signals: Sequence[XmrSignal],
    header: Header,
    dpi: int = 100,
) -> Chart:
    """Draw the count of each period as a run chart with the average and XmR limits."""
    rate, x_title = PERIOD_WORDS[period]
    figure, (ax,) = new_figure(header, dpi, right=LABELLED_RIGHT)
    xs = [p.start for p in periods]
    ys = [p.count for p in periods]
    ax.plot(xs, ys, color=BLUE, linewidth=2.2, marker="o", markersize=8, zorder=4)
    outside = sorted({s.index for s in signals if s.rule == "outside_limits"})
    patterns = sorted({s.index for s in signals if s.rule != "outside_limits"} - set(outside))
    ax.scatter(
        [xs[i] for i in patterns],
        [ys[i] for i in patterns],
        s=260,
        facecolors="none",
        edgecolors=ORANGE,
        linewidths=2.5,
        zorder=5,
    )
    ax.scatter(
        [xs[i] for i in outside],
        [ys[i] for i in outside],
        s=150,
        color=VERMILLION,
        edgecolors=INK,
        linewidths=1.2,
        zorder=5,
    )
    for i in outside:
        ax.annotate(
            str(ys[i]),
            (xs[i], ys[i]),
            xytext=(0, 11),
            textcoords="offset points",
            ha="center",
            fontsize=NOTE_SIZE,
            fontweight="bold",
            color=VERMILLION,
            family=FONT,
        )
    top = max([*ys, limits.upper if limits else 0.0]) * 1.15 + 1
    ax.set_ylim(-0.03 * top, top)  # a little room below, so points at zero show whole
    pad_dates(ax, xs)
    labels = []
    if limits is not None:
        ax.axhline(limits.mean, color=BLACK, linewidth=1.8, zorder=3)
        labels.append(EdgeLabel(limits.mean, f"average {_number(limits.mean)}", BLACK))
        for name, value in (("upper", limits.upper), ("lower", limits.lower)):
            if value > 0:
                ax.axhline(value, color=VERMILLION, linewidth=1.8, linestyle=(0, (6, 3)))
                labels.append(EdgeLabel(value, f"{name} limit {_number(value)}", VERMILLION))
    date_axis(ax, xs if period == "week" else ())
    whole_numbers(ax)
    label_axes(ax, x_title, f"Items finished {rate}")
    label_right_edge(ax, labels)
    if patterns:
        note(ax, "orange rings: a run or cluster worth a look (Wheeler's rules)")
    return Chart(figure, header, _alt_text(periods, period, limits, signals, header))


def _number(value: float) -> str:
    """One decimal for small values, none from 100 on (labels stay short)."""
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}"


def _alt_text(
    periods: Sequence[PeriodCount],
    period: Period,
    limits: XmrLimits | None,
    signals: Sequence[XmrSignal],
    header: Header,
) -> str:
    rate = PERIOD_WORDS[period][0]
    busiest = max(periods, key=lambda p: (p.count, p.start))
    latest = periods[-1]
    facts = [header.alt_intro("Throughput run chart")]
    if limits is not None:
        facts.append(
            f"average {limits.mean:.1f} items {rate}, natural process limits "
            f"{limits.lower:.1f} to {limits.upper:.1f}."
        )
    facts.append(
        f"Latest {period} ({short_day(latest.start)}): {plural(latest.count, 'item')}; "
        f"most: {busiest.count} ({period} of {day_label(busiest.start)})."
    )
    if limits is not None and not signals:
        facts.append("No signal: the ups and downs are routine variation.")
    by_rule: dict[str, list[str]] = {}
    for signal in signals:
        when = f"{short_day(periods[signal.index].start)} ({signal.side})"
        by_rule.setdefault(signal.rule, []).append(when)
    for rule, whens in by_rule.items():
        shown = ", ".join(whens[:SIGNALS_NAMED])
        more = f" and {len(whens) - SIGNALS_NAMED} more" if len(whens) > SIGNALS_NAMED else ""
        facts.append(f"Signal, {RULE_WORDS[rule]}: {shown}{more}.")
    return " ".join(facts)
