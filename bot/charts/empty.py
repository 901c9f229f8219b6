"""The "not enough data yet" chart: drawn instead of a chart that would mislead or fail."""

from __future__ import annotations

from bot.charts.style import FONT, INK, MUTED, Chart, Header, new_figure, plain


def plot_empty(header: Header, reason: str, hint: str, dpi: int = 100) -> Chart:
    """A chart frame that says plainly why there is nothing to draw and what will change that."""
    figure, (ax,) = new_figure(header, dpi)
    ax.set_axis_off()
    figure.text(
        0.5,
        0.56,
        "Not enough data yet",
        ha="center",
        va="center",
        fontsize=30,
        fontweight="bold",
        color=INK,
        family=FONT,
    )
    figure.text(
        0.5,
        0.4,
        plain(f"{reason}\n{hint}"),
        ha="center",
        va="center",
        fontsize=17,
        color=MUTED,
        family=FONT,
        linespacing=1.6,
    )
    alt = f"{header.title}, {header.subtitle}: not enough data yet. {reason} {hint}"
    return Chart(figure, header, alt)
