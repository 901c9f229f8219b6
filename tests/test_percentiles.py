"""The three percentile methods of METRICS.md 0.8, with its test vectors."""

from __future__ import annotations

import pytest

from insights.percentiles import cycle_time_percentiles, median, percentile, percentile_of_sorted


def test_linear_matches_the_jam_vector() -> None:
    values = [4, 5, 5, 5, 5, 5]
    assert percentile(values, 0.1, "linear") == pytest.approx(4.5)
    assert percentile(values, 0.5, "linear") == 5
    assert percentile(values, 0.9, "linear") == 5


def test_nearest_rank_is_a_value_of_the_sample() -> None:
    assert percentile([4, 5, 5, 5, 5, 5], 0.1, "nearest_rank") == 4
    assert percentile([1, 2, 3, 4], 0.5, "nearest_rank") == 2
    assert percentile([1, 2, 3, 4], 0.85, "nearest_rank") == 4
    assert percentile([1, 2, 3, 4], 1.0) == 4


def test_an_even_sized_median_differs_by_method() -> None:  # METRICS 5.14
    values = [4, 1, 3, 2]
    assert percentile(values, 0.5, "linear") == 2.5
    assert percentile(values, 0.5, "devlake_lower_median") == 2
    assert percentile(values, 0.85, "linear") == pytest.approx(3.55)
    assert median(values) == 2.5
    assert median(values, "devlake_lower_median") == 2
    assert percentile([7, 3, 5], 0.5, "devlake_lower_median") == 5


def test_nearest_rank_is_not_fooled_by_floating_point() -> None:
    # 0.7 * 10 is 7.000000000000001 in floating point: the 7th value, not the 8th.
    assert percentile(list(range(1, 11)), 0.7) == 7


def test_empty_input_has_no_percentile_and_bad_arguments_say_why() -> None:
    assert percentile([], 0.5) is None
    assert median([]) is None
    assert percentile_of_sorted([1.0, 2.0], 0.5) == 1.0
    with pytest.raises(ValueError, match="q must be in"):
        percentile([1], 0)
    with pytest.raises(ValueError, match=r"q = 0\.5 only"):
        percentile([1], 0.85, "devlake_lower_median")
    with pytest.raises(ValueError, match="unknown percentile method"):
        percentile([1], 0.5, "mean")  # type: ignore[arg-type]


def test_cycle_time_percentiles_need_five_values() -> None:  # METRICS 3.7
    assert cycle_time_percentiles([1, 2, 3, 4]) is None
    lines = cycle_time_percentiles([10, 1, 9, 2, 8, 3, 7, 4, 6, 5])
    # nearest rank of 1..10: ceil(q * 10)-th value
    assert lines == {50: 5, 70: 7, 85: 9, 95: 10}
    assert cycle_time_percentiles([3, 1], minimum=2, method="linear") == {
        50: 2.0,
        70: pytest.approx(2.4),
        85: pytest.approx(2.7),
        95: pytest.approx(2.9),
    }
    assert cycle_time_percentiles([1, 2, 3, 4, 5], minimum=10) is None
