"""Conventions every metric shares: calendar days, duration summaries and per-period counts.

METRICS.md 0 (global conventions): windows are half-open ``[start, end)``, for instants and for
days alike (pass ``end = last day + 1``). Durations are exact seconds; calendar days follow
ActionableAgile (``date(end) - date(start) + 1``, "AA") unless a field says ``jam`` (no +1).
Percentiles are nearest rank (METRICS.md 3.7, :mod:`insights.percentiles`). Every aggregate keeps
the keys of the items behind it, so the bot can answer "which items?".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Literal

import numpy as np
import numpy.typing as npt

from insights.item_timeline import (
    DayIndex,
    local_date,
    week_start,
)
from insights.percentiles import cycle_time_percentiles
from insights.timeline_index import Timelines

Period = Literal["day", "week"]


def calendar_days(start: datetime, end: datetime, tz: tzinfo, inclusive: bool = True) -> int:
    """Calendar days from ``start`` to ``end`` in ``tz``: AA counts both ends (+1), JAM does not."""
    days = (local_date(end, tz) - local_date(start, tz)).days
    return days + 1 if inclusive else days


@dataclass(frozen=True)
class DurationSummary:
    """A duration over the items finished in a window."""

    count: int
    mean_seconds: float | None
    percentiles_seconds: dict[int, float] | None
    """50/70/85/95 by nearest rank; None with fewer than 5 items (METRICS.md 3.7)."""
    item_keys: tuple[str, ...]


def summarize(pairs: list[tuple[str, float]]) -> DurationSummary:
    """The :class:`DurationSummary` of ``(key, seconds)`` pairs."""
    values = [v for _, v in pairs]
    return DurationSummary(
        count=len(values),
        mean_seconds=sum(values) / len(values) if values else None,
        percentiles_seconds=cycle_time_percentiles(values),
        item_keys=tuple(k for k, _ in pairs),
    )


@dataclass(frozen=True)
class PeriodCount:
    """How many items an event happened to in one day or week, and which."""

    start: date
    count: int
    item_keys: tuple[str, ...]


def per_period(window: DayIndex, per_day: list[list[str]], period: Period) -> list[PeriodCount]:
    """Per-day keys as :class:`PeriodCount` per day or per Monday week.

    The first and last week only cover their days inside the window.
    """
    if period == "day":
        return [PeriodCount(d, len(k), tuple(k)) for d, k in zip(window.days, per_day, strict=True)]
    weeks: dict[date, list[str]] = {}
    for day, keys in zip(window.days, per_day, strict=True):
        weeks.setdefault(week_start(day), []).extend(keys)
    return [PeriodCount(w, len(k), tuple(k)) for w, k in weeks.items()]


def rows_per_period(
    timelines: Timelines,
    rows: npt.NDArray[np.int64],
    instants: npt.NDArray[np.float64],
    window: DayIndex,
    period: Period,
) -> list[PeriodCount]:
    """The timelines at ``rows`` counted per day or week of their ``instants``, zero-filled.

    ``instants`` are POSIX seconds inside the window; each day keeps the keys in row order.
    """
    if period not in ("day", "week"):
        raise ValueError(f"period must be 'day' or 'week', got {period!r}")
    edges = np.array([e.timestamp() for e in window.edges], dtype=np.float64)
    days = np.searchsorted(edges, instants, side="right") - 1
    order = np.argsort(days, kind="stable")
    ordered, bounds = rows[order].tolist(), np.searchsorted(days[order], range(len(edges))).tolist()
    keys = timelines.columns.keys
    per_day = [
        [keys[row] for row in ordered[bounds[k] : bounds[k + 1]]] for k in range(len(window.days))
    ]
    return per_period(window, per_day, period)
