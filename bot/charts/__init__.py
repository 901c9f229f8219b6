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
    from insights.scopes import ScopeRef
    from insights.value_stream import Hotspot

CHART_KINDS = (
    "scatter", "aging", "cfd", "throughput", "forecast", "dora", "map", "trace", "burnup"
)  # fmt: skip
ITEM_CHARTS = ("trace",)
"""The kinds drawn for one item: they need its key (``item_key``)."""
SCOPE_CHARTS = ("burnup",)
"""The kinds drawn for one scope (an epic, a label: ``scope``); without one, the team's first
tracked scope (``scopes:`` in app.yaml)."""
DEFAULT_WINDOW_DAYS = 90
"""Days of history a chart covers unless asked; the forecast samples the forecasts' basis instead
(``insights.forecast.BASIS_DAYS``), so it answers like ``/vsm forecast``, and the value stream map
maps the items finished in the report's window (:data:`MAP_WINDOW_DAYS`), like ``/vsm map``."""
MAP_WINDOW_DAYS = 30
_HOUR, _DAY = 3600.0, 86400.0


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
    item_key: str | None = None,
    scope: ScopeRef | None = None,
    dpi: int = 100,
) -> ChartImage:
    """Draw chart ``kind`` of ``team`` as of ``now`` (aware) over the last ``window_days`` days.

    Without ``window_days``, a chart covers ``DEFAULT_WINDOW_DAYS``, the map ``MAP_WINDOW_DAYS``
    and the forecast samples the throughput every forecast samples. ``forecast_items`` asks the
    forecast "when will N items be done", ``forecast_date`` "how many by this date" (default: how
    many in the next 14 days). ``item_key`` names the item of a trace (``PAY-12``), ``scope`` the
    epic or label of a burn-up (default: the team's first tracked scope). Raises ``ValueError``
    for bad options.
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
        item_key=item_key,
        scope=scope,
        dpi=dpi,
    )


def write_all_charts(
    snapshot: Snapshot, team: TeamConfig, now: datetime, folder: Path
) -> list[Path]:
    """Render every kind with its defaults as PNG files in ``folder``; return their paths.

    The item charts (a trace) need an item, so they are left out; the burn-up is of the team's
    first tracked scope.
    """
    from bot.charts.render import write_all

    return write_all(snapshot, team, now, folder)


def short_duration(seconds: float | None) -> str:
    """A duration in few characters: ``0``, ``40 min``, ``5 h``, ``2.5 d``, ``12 d``; ``-`` unknown.

    The value stream map's chart and its Slack message word times alike.
    """
    if seconds is None:
        return "-"
    if seconds == 0:
        return "0"
    if seconds < _HOUR:
        return f"{seconds / 60:.0f} min"
    if seconds < _DAY:
        return f"{seconds / _HOUR:.0f} h"
    days = seconds / _DAY
    return f"{days:.1f} d" if days < 10 else f"{days:.0f} d"


def percent(ratio: float | None) -> str:
    """A ratio as a whole percentage (``41%``); ``n/a`` unknown."""
    return "n/a" if ratio is None else f"{ratio * 100:.0f}%"


def hotspot_words(hotspot: Hotspot) -> str:
    """Where the stream's time goes: ``Release (waiting), 41% of lead time, up from 28%``.

    Plain text (the step's name is the team's or its vendor's words): escape it to show it.
    """
    part = {"wait": " (waiting)", "process": " (working)"}.get(hotspot.part, "")
    change = ""
    if hotspot.previous_share is not None:
        before, now = round(hotspot.previous_share * 100), round(hotspot.share * 100)
        direction = "up" if now > before else "down"
        change = ", as before" if now == before else f", {direction} from {before}%"
    return f"{hotspot.step}{part}, {percent(hotspot.share)} of lead time{change}"
