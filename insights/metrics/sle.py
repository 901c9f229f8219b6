"""Service Level Expectation and its compliance (METRICS.md 3.8)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from insights.item_timeline import (
    ItemTimeline,
)
from insights.metrics.cycle_time import cycle_days
from insights.percentiles import cycle_time_percentiles


@dataclass(frozen=True)
class ServiceLevelExpectation:
    """A share (``probability``) of items finishes within ``days`` calendar days (AA)."""

    days: float
    probability: float
    basis_count: int
    """Finished items the SLE was computed from (0 for a fixed SLE)."""
    fixed: bool
    item_keys: tuple[str, ...]


def service_level_expectation(
    timelines: Iterable[ItemTimeline],
    now: datetime,
    tz: tzinfo,
    history_days: int = 90,
    fixed_days: float | None = None,
) -> ServiceLevelExpectation | None:
    """The SLE of METRICS.md 3.8: p85 (nearest rank) of AA cycle-time days over the history.

    ``fixed_days`` (the team's agreement) overrides it. None with fewer than 5 finished items.
    """
    if fixed_days is not None:
        return ServiceLevelExpectation(fixed_days, 0.85, 0, True, ())
    keys, days = cycle_days(timelines, now - timedelta(days=history_days), now, tz)
    lines = cycle_time_percentiles([float(d) for d in days])
    if lines is None:
        return None
    return ServiceLevelExpectation(lines[85], 0.85, len(keys), False, tuple(keys))


@dataclass(frozen=True)
class SleCompliance:
    """Share of the items finished in a window whose AA cycle time is within the SLE."""

    sle_days: float
    rate: float | None
    within_keys: tuple[str, ...]
    beyond_keys: tuple[str, ...]


def sle_compliance(
    timelines: Iterable[ItemTimeline], sle_days: float, start: datetime, end: datetime, tz: tzinfo
) -> SleCompliance:
    """How many items finished in ``[start, end)`` met the SLE (None rate when none finished)."""
    within: list[str] = []
    beyond: list[str] = []
    for key, days in zip(*cycle_days(timelines, start, end, tz), strict=True):
        (within if days <= sle_days else beyond).append(key)
    total = len(within) + len(beyond)
    return SleCompliance(
        sle_days, len(within) / total if total else None, tuple(within), tuple(beyond)
    )
