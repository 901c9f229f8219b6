"""Percentiles by the three methods METRICS.md section 0.8 names, behind one function."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

Method = Literal["linear", "nearest_rank", "devlake_lower_median"]
LINES = (50, 70, 85, 95)
"""The percentiles a team sees (METRICS.md 3.4 and 3.7)."""
MIN_VALUES = 5
"""Fewer finished items than this publish no percentiles (METRICS.md 3.7)."""


def percentile(values: Sequence[float], q: float, method: Method = "nearest_rank") -> float | None:
    """The ``q`` quantile (0 < q <= 1) of ``values``; None for an empty sequence.

    ``linear`` is numpy's default (Hyndman-Fan type 7), ``nearest_rank`` is ``v[ceil(q n) - 1]``
    (the default: "q of items finished within X"), ``devlake_lower_median`` is the lower middle
    value (q must be 0.5).
    """
    return percentile_of_sorted(sorted(values), q, method)


def percentile_of_sorted(
    ordered: Sequence[float], q: float, method: Method = "nearest_rank"
) -> float | None:
    """Like :func:`percentile` for values already sorted ascending (no copy, no sort)."""
    _check(q, method)
    return _quantile(ordered, q, method) if ordered else None


def _check(q: float, method: Method) -> None:
    if not 0 < q <= 1:
        raise ValueError(f"q must be in (0, 1], got {q}")
    if method not in ("linear", "nearest_rank", "devlake_lower_median"):
        raise ValueError(
            f"unknown percentile method {method!r}: use linear, nearest_rank or "
            "devlake_lower_median"
        )
    if method == "devlake_lower_median" and q != 0.5:
        raise ValueError("devlake_lower_median is defined for q = 0.5 only")


def _quantile(ordered: Sequence[float], q: float, method: Method) -> float:
    n = len(ordered)
    if method == "linear":
        position = (n - 1) * q
        low, high = math.floor(position), math.ceil(position)
        return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
    if method == "nearest_rank":
        return ordered[max(0, math.ceil(round(q * n, 9)) - 1)]
    return ordered[(n - 1) // 2]


def cycle_time_percentiles(
    values: Sequence[float],
    minimum: int = MIN_VALUES,
    method: Method = "nearest_rank",
    lines: Sequence[int] = LINES,
) -> dict[int, float] | None:
    """The 50/70/85/95th percentiles of ``values``; None with fewer than ``minimum`` values."""
    if len(values) < max(1, minimum):
        return None
    ordered = sorted(values)
    for p in lines:
        _check(p / 100, method)
    return {p: _quantile(ordered, p / 100, method) for p in lines}


def median(values: Sequence[float], method: Method = "linear") -> float | None:
    """The median of ``values`` (linear by default); None for an empty sequence."""
    return percentile(values, 0.5, method)
