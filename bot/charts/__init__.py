"""Charts a team would rather look at than read: PNG bytes plus alt text, drawn without pyplot.

``render_chart(kind, snapshot, team, now)`` is what the CLI (``vsm chart``), ``vsm demo`` and the
Slack bot call. Each kind lives in its own module (``draw_<kind>`` gathers the numbers from
``insights``, ``plot_<kind>`` draws them); all share :mod:`bot.charts.style`. Every figure is a
fresh :class:`matplotlib.figure.Figure` rendered by its own Agg canvas, so charts can be drawn in
parallel threads. Empty or tiny data gives a "not enough data yet" chart, never an exception.

Importing this package is cheap: matplotlib (about half a second) is loaded by the first render,
so ``vsm`` commands that draw nothing do not pay for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.config import TeamConfig
    from insights.model import Snapshot

CHART_KINDS = ("scatter", "aging", "cfd", "throughput", "forecast", "dora")
DEFAULT_WINDOW_DAYS = 90
"""Days of history a chart covers unless asked; the forecast samples the forecasts' basis instead
(``insights.forecast.BASIS_DAYS``), so it answers like ``/vsm forecast``."""


@dataclass(frozen=True)
class ChartImage:
    """A rendered chart: PNG bytes, the alt text and title to upload with, and a file name."""

    kind: str
    png: bytes
    alt_text: str
    title: str
    filename: str


def render_chart(
    kind: str,
    snapshot: Snapshot,
    team: TeamConfig,
    now: datetime,
    *,
    window_days: int | None = None,
    forecast_items: int | None = None,
    forecast_date: date | None = None,
    dpi: int = 100,
) -> ChartImage:
    """Draw chart ``kind`` of ``team`` as of ``now`` (aware) over the last ``window_days`` days.

    Without ``window_days``, a chart covers ``DEFAULT_WINDOW_DAYS`` and the forecast samples the
    throughput every forecast samples. ``forecast_items`` asks the forecast "when will N items be
    done", ``forecast_date`` "how many by this date" (default: how many in the next 14 days).
    Raises ``ValueError`` for bad options.
    """
    from bot.charts.render import render

    return render(
        kind,
        snapshot,
        team,
        now,
        window_days=window_days,
        forecast_items=forecast_items,
        forecast_date=forecast_date,
        dpi=dpi,
    )


def write_all_charts(
    snapshot: Snapshot, team: TeamConfig, now: datetime, folder: Path
) -> list[Path]:
    """Render every kind with its defaults as PNG files in ``folder``; return their paths."""
    from bot.charts.render import write_all

    return write_all(snapshot, team, now, folder)
