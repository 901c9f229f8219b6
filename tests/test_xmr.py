"""XmR natural process limits and Wheeler's detection rules, on hand-computed series."""

from __future__ import annotations

import pytest

from insights.xmr import xmr_limits, xmr_signals


def test_limits_of_a_small_series() -> None:
    limits = xmr_limits([5, 7, 6, 8, 4])
    assert limits is not None
    # mean 30/5 = 6; moving ranges 2, 1, 2, 4 -> 9/4 = 2.25
    assert limits.mean == 6
    assert limits.moving_range_mean == 2.25
    assert limits.upper == pytest.approx(6 + 2.66 * 2.25)
    assert limits.lower == pytest.approx(6 - 2.66 * 2.25)
    assert limits.upper_range == pytest.approx(3.268 * 2.25)
    assert limits.baseline == 5


def test_a_baseline_and_a_floor() -> None:
    limits = xmr_limits([2, 4, 2, 40, 50], baseline=3, floor=0.0)
    assert limits is not None
    # first 3 values: mean 8/3, moving ranges 2, 2 -> 2; lower 8/3 - 5.32 < 0 -> floored at 0
    assert limits.mean == pytest.approx(8 / 3)
    assert limits.moving_range_mean == 2
    assert limits.lower == 0.0
    assert limits.baseline == 3
    assert xmr_limits([3]) is None
    with pytest.raises(ValueError, match="baseline"):
        xmr_limits([1, 2, 3], baseline=1)


def test_a_point_beyond_the_limits_and_a_jump_are_signals() -> None:
    limits = xmr_limits([10, 11, 9, 10, 11, 9, 10])
    assert limits is not None  # mean 10, mR = 10/6, upper ~14.4, upper range ~5.4
    found = {(s.index, s.rule, s.side) for s in xmr_signals([10, 9, 20, 10], limits)}
    assert (2, "outside_limits", "above") in found
    assert (2, "range", "above") in found
    assert (3, "range", "below") in found
    assert not [s for s in xmr_signals([10, 11, 9, 10], limits)]


def test_eight_in_a_row_on_one_side_is_a_shift() -> None:
    limits = xmr_limits([10, 12, 8, 11, 9, 10, 12, 8])
    assert limits is not None  # mean 10
    below = [9.5] * 8
    signals = xmr_signals(below, limits)
    assert [(s.index, s.rule, s.side) for s in signals] == [(7, "run_of_eight", "below")]


def test_three_of_four_near_a_limit() -> None:
    limits = xmr_limits([10, 12, 8, 11, 9, 10, 12, 8])
    assert limits is not None
    half = (limits.mean + limits.upper) / 2
    values = [half + 0.1, 10, half + 0.2, half + 0.1]
    signals = xmr_signals(values, limits)
    assert [(s.index, s.rule, s.side) for s in signals] == [(3, "three_of_four", "above")]
