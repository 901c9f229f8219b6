"""Percentiles by the three methods METRICS.md section 0.8 names, behind one function."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

Method = Literal["linear", "nearest_rank", "devlake_lower_median"]


def percentile(values: Sequence[float], q: float, method: Method = "nearest_rank") -> float | None:
    """The ``q`` quantile (0 < q <= 1) of ``values``; None for an empty sequence.

    ``linear`` is numpy's default (Hyndman-Fan type 7), ``nearest_rank`` is ``v[ceil(q n) - 1]``
    (the default: "q of items finished within X"), ``devlake_lower_median`` is the lower middle
    value (q must be 0.5).
    """
    if not 0 < q <= 1:
        raise ValueError(f"q must be in (0, 1], got {q}")
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        return None
    if method == "linear":
        position = (n - 1) * q
        low, high = math.floor(position), math.ceil(position)
        return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
    if method == "nearest_rank":
        return ordered[max(0, math.ceil(q * n) - 1)]
    if method == "devlake_lower_median":
        if q != 0.5:
            raise ValueError("devlake_lower_median is defined for q = 0.5 only")
        return ordered[(n - 1) // 2]
    raise ValueError(f"unknown percentile method {method!r}")
