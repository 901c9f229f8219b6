"""XmR process-behaviour charts (Wheeler): natural process limits and the signals beyond them.

For values ``x_1..x_n`` (a weekly throughput, the cycle times of finished items in order):
the centre line is the mean ``x̄``; the moving ranges are ``|x_i - x_{i-1}|`` with mean ``mR̄``;
the natural process limits are ``x̄ ± 2.66 mR̄`` and the upper range limit ``3.268 mR̄``.
Limits can be computed from a baseline (the first points) and applied to later ones.

Signals (Wheeler's detection rules), each reported at the point that completes it:
- ``outside_limits``: a value beyond a natural process limit;
- ``three_of_four``: three of four successive values closer to the same limit than to the centre;
- ``run_of_eight``: eight successive values on the same side of the centre line;
- ``range``: a moving range above the upper range limit (a sudden jump).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

LIMIT_FACTOR = 2.66
RANGE_FACTOR = 3.268
Rule = Literal["outside_limits", "three_of_four", "run_of_eight", "range"]
Side = Literal["above", "below"]


@dataclass(frozen=True)
class XmrLimits:
    """Centre line and limits of an XmR chart."""

    mean: float
    moving_range_mean: float
    upper: float
    """Upper natural process limit."""
    lower: float
    """Lower natural process limit (raised to ``floor`` when one was given)."""
    upper_range: float
    """Upper range limit of the moving ranges."""
    baseline: int
    """How many values the limits were computed from."""


@dataclass(frozen=True)
class XmrSignal:
    """A detection rule that fired at ``index`` (the point completing it)."""

    index: int
    rule: Rule
    side: Side


def xmr_limits(
    values: Sequence[float], baseline: int | None = None, floor: float | None = None
) -> XmrLimits | None:
    """Limits from the first ``baseline`` values (all by default); None with fewer than 2.

    ``floor`` bounds the lower limit (0 for counts and durations, which cannot be negative).
    """
    if baseline is not None and baseline < 2:
        raise ValueError(f"baseline must be at least 2 values, got {baseline}")
    basis = list(values[:baseline] if baseline is not None else values)
    if len(basis) < 2:
        return None
    mean = sum(basis) / len(basis)
    ranges = [abs(b - a) for a, b in pairwise(basis)]
    spread = sum(ranges) / len(ranges)
    lower = mean - LIMIT_FACTOR * spread
    return XmrLimits(
        mean=mean,
        moving_range_mean=spread,
        upper=mean + LIMIT_FACTOR * spread,
        lower=lower if floor is None else max(lower, floor),
        upper_range=RANGE_FACTOR * spread,
        baseline=len(basis),
    )


def xmr_signals(values: Sequence[float], limits: XmrLimits) -> list[XmrSignal]:
    """Every signal among ``values`` against ``limits``, in index order."""
    signals: list[XmrSignal] = []
    mean = limits.mean
    upper_half = (mean + limits.upper) / 2
    lower_half = (mean + limits.lower) / 2
    for i, x in enumerate(values):
        if x > limits.upper:
            signals.append(XmrSignal(i, "outside_limits", "above"))
        elif x < limits.lower:
            signals.append(XmrSignal(i, "outside_limits", "below"))
        if i >= 3:
            recent = values[i - 3 : i + 1]
            if sum(v > upper_half for v in recent) >= 3 and x > upper_half:
                signals.append(XmrSignal(i, "three_of_four", "above"))
            elif sum(v < lower_half for v in recent) >= 3 and x < lower_half:
                signals.append(XmrSignal(i, "three_of_four", "below"))
        if i >= 7:
            run = values[i - 7 : i + 1]
            if all(v > mean for v in run):
                signals.append(XmrSignal(i, "run_of_eight", "above"))
            elif all(v < mean for v in run):
                signals.append(XmrSignal(i, "run_of_eight", "below"))
        if i >= 1 and abs(x - values[i - 1]) > limits.upper_range:
            signals.append(XmrSignal(i, "range", "above" if x > values[i - 1] else "below"))
    return signals
