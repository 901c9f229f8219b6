"""The drawing behind :func:`bot.charts.render_chart`: check the options, draw, encode."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

from bot.charts import (
    CHART_KINDS,
    DEFAULT_WINDOW_DAYS,
    ITEM_CHARTS,
    MAP_WINDOW_DAYS,
    SCOPE_CHARTS,
    ChartImage,
)
from bot.charts.aging import draw_aging
from bot.charts.burnup import draw_burnup
from bot.charts.cfd import draw_cfd
from bot.charts.dora import draw_dora
from bot.charts.forecast import draw_forecast
from bot.charts.map import draw_map
from bot.charts.request import ChartRequest
from bot.charts.scatter import draw_scatter
from bot.charts.style import Chart, to_png
from bot.charts.throughput import draw_throughput
from bot.charts.trace import draw_trace
from bot.config import TeamConfig
from insights.as_of import snapshot_as_of
from insights.forecast import BASIS_DAYS
from insights.model import Snapshot
from insights.scopes import ScopeRef

ALT_TEXT_LIMIT = 1000
"""Slack's limit on ``alt_txt`` of an uploaded file."""
DRAWERS: dict[str, Callable[[ChartRequest], Chart]] = {
    "scatter": draw_scatter,
    "aging": draw_aging,
    "cfd": draw_cfd,
    "throughput": draw_throughput,
    "forecast": draw_forecast,
    "dora": draw_dora,
    "map": draw_map,
    "trace": draw_trace,
}
SCOPE_DRAWERS: dict[str, Callable[[ChartRequest, ScopeRef | None], Chart]] = {"burnup": draw_burnup}
"""The scope charts' drawers: they take the scope (None: the team's first tracked one)."""


def render(
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
    """See :func:`bot.charts.render_chart`."""
    window = default_window(kind) if window_days is None else window_days
    forecast = (forecast_items, forecast_date)
    request = _request(kind, snapshot, team, now, window, forecast, item_key, dpi)
    if scope is not None and kind not in SCOPE_CHARTS:
        raise ValueError(f"only the {' and '.join(SCOPE_CHARTS)} chart takes a scope")
    chart = SCOPE_DRAWERS[kind](request, scope) if kind in SCOPE_CHARTS else DRAWERS[kind](request)
    header = chart.header
    alt = chart.alt_text
    if len(alt) > ALT_TEXT_LIMIT:
        alt = alt[: ALT_TEXT_LIMIT - 1].rsplit(" ", 1)[0] + "\N{HORIZONTAL ELLIPSIS}"
    return ChartImage(
        kind=kind,
        png=to_png(chart.figure),
        alt_text=alt,
        title=f"{header.title} ({header.subtitle})",
        filename=f"{kind}-{_file_part(team.name, item_key or (scope.key if scope else None))}-"
        f"{request.today.isoformat()}.png",
    )


def default_window(kind: str) -> int:
    """Days chart ``kind`` covers unless asked: forecasts' basis, the report's window (map), 90."""
    if kind == "forecast":
        return BASIS_DAYS
    return MAP_WINDOW_DAYS if kind == "map" else DEFAULT_WINDOW_DAYS


def _file_part(team: str, item_key: str | None) -> str:
    """The team, and the item or scope of its chart as a file name can hold it (``acme-api-7``)."""
    if item_key is None:
        return team
    return f"{team}-{re.sub(r'[^A-Za-z0-9_-]+', '-', item_key).strip('-')}"


def write_all(snapshot: Snapshot, team: TeamConfig, now: datetime, folder: Path) -> list[Path]:
    """See :func:`bot.charts.write_all_charts`."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for kind in CHART_KINDS:
        if kind in ITEM_CHARTS:
            continue
        image = render(kind, snapshot, team, now)
        path = folder / image.filename
        path.write_bytes(image.png)
        paths.append(path)
    return paths


def _request(
    kind: str,
    snapshot: Snapshot,
    team: TeamConfig,
    now: datetime,
    window_days: int,
    forecast: tuple[int | None, date | None],
    item_key: str | None,
    dpi: int,
) -> ChartRequest:
    """Check the options and bundle them; every problem names the option and what is expected."""
    forecast_items, forecast_date = forecast
    if kind not in DRAWERS and kind not in SCOPE_DRAWERS:
        raise ValueError(f"unknown chart kind {kind!r}; choose one of: {', '.join(CHART_KINDS)}")
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be timezone-aware, got naive {now!r}")
    if window_days < 1:
        raise ValueError(f"the window must be at least 1 day, got {window_days}")
    if not 20 <= dpi <= 600:
        raise ValueError(f"dpi must be between 20 and 600, got {dpi}")
    if forecast_items is not None and forecast_date is not None:
        raise ValueError("a forecast takes either a number of items or a date, not both")
    if forecast_items is not None and forecast_items < 1:
        raise ValueError(
            f"the number of items to forecast must be at least 1, got {forecast_items}"
        )
    if kind in ITEM_CHARTS and not item_key:
        raise ValueError(f"the {kind} chart is of one item: name it, e.g. {kind} PAY-12")
    if kind not in ITEM_CHARTS and item_key is not None:
        raise ValueError(f"only the {' and '.join(ITEM_CHARTS)} chart takes an item key")
    past = snapshot_as_of(snapshot, now)  # a chart as of a past instant never sees the future
    request = ChartRequest(
        past, team, now, window_days, forecast_items, forecast_date, dpi, item_key=item_key
    )
    if forecast_date is not None and forecast_date <= request.today:
        raise ValueError(
            f"the forecast date must be after the as-of date {request.today.isoformat()}, "
            f"got {forecast_date.isoformat()}"
        )
    return request
