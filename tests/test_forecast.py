"""Monte Carlo forecasts (METRICS.md 3.9) with its test vectors, seeded."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from insights.forecast import daily_samples, forecast_how_many, forecast_when
from insights.item_timeline import ItemTimeline, build_timeline
from insights.model import ItemKind, Stage, Transition, WorkItem

START = date(2026, 3, 3)
LEVELS = (50, 70, 85, 95)


def test_a_constant_basis_gives_exact_answers() -> None:
    samples = [2] * 30
    how_many = forecast_how_many(samples, START, START + timedelta(days=9))  # 10 days inclusive
    assert how_many is not None
    assert how_many.counts == dict.fromkeys(LEVELS, 20)
    assert set(how_many.trial_totals) == {20} and len(how_many.trial_totals) == 10_000
    when = forecast_when(samples, 21, START)
    assert when is not None
    # 21 items at 2 a day need 11 days: the 11th day is START + 10.
    assert when.dates == dict.fromkeys(LEVELS, START + timedelta(days=10))
    assert set(when.trial_days) == {11} and when.beyond_horizon == 0


def test_a_zero_one_basis_averages_half_an_item_a_day() -> None:
    result = forecast_how_many([0, 1], START, START + timedelta(days=99), seed=3)
    assert result is not None
    mean = sum(result.trial_totals) / len(result.trial_totals)
    assert mean == pytest.approx(50, rel=0.01)  # E[T] = D / 2 with D = 100


def test_how_many_reads_the_lower_tail() -> None:
    # One day of a basis that finishes 10 items three days in four: 75% chance of 10 or more.
    likely = forecast_how_many([10, 10, 10, 0], START, START, seed=1)
    assert likely is not None
    assert likely.counts == {50: 10, 70: 10, 85: 0, 95: 0}
    rare = forecast_how_many([0, 0, 0, 10], START, START, seed=1)
    assert rare is not None and rare.counts == dict.fromkeys(LEVELS, 0)


def test_when_reads_the_upper_tail() -> None:
    # Each day finishes 1 item or none, evenly: 5 items take 5 days or more, rarely more than 20.
    result = forecast_when([0, 1], 5, START, seed=2)
    assert result is not None
    days = [(d - START).days + 1 for d in result.dates.values() if d is not None]
    assert days == sorted(days) and days[0] >= 5
    share_by_p85 = sum(1 for d in result.trial_days if d <= days[2]) / len(result.trial_days)
    assert share_by_p85 >= 0.85
    share_before = sum(1 for d in result.trial_days if d < days[2]) / len(result.trial_days)
    assert share_before < 0.85


def test_forecasts_are_reproducible_with_a_seed() -> None:
    samples = [0, 1, 3, 0, 2, 5, 1]
    first = forecast_when(samples, 40, START, seed=11)
    again = forecast_when(samples, 40, START, seed=11)
    assert first is not None and again is not None
    assert first.trial_days == again.trial_days
    other = forecast_when(samples, 40, START, seed=12)
    assert other is not None and other.trial_days != first.trial_days


def test_no_throughput_means_no_forecast() -> None:  # METRICS 5.15
    assert forecast_when([0] * 60, 10, START) is None
    assert forecast_how_many([0] * 60, START, START + timedelta(days=5)) is None


def test_nothing_left_is_done_today_and_too_far_is_beyond_the_horizon() -> None:
    done = forecast_when([1, 2], 0, START, trials=10)
    assert done is not None and done.dates == dict.fromkeys(LEVELS, START - timedelta(days=1))
    far = forecast_when([0, 0, 0, 1], 50, START, trials=200, horizon_days=60)
    assert far is not None
    assert far.dates == dict.fromkeys(LEVELS)
    assert far.beyond_horizon == 200 and far.trial_days == []


def test_bad_forecast_requests_say_what_to_fix() -> None:
    with pytest.raises(ValueError, match="before start"):
        forecast_how_many([1], START, START - timedelta(days=2))
    with pytest.raises(ValueError, match="more than 3650 days"):
        forecast_how_many([1], START, START + timedelta(days=4000))
    with pytest.raises(ValueError, match="no throughput samples"):
        forecast_when([], 3, START)
    with pytest.raises(ValueError, match="negative"):
        forecast_when([1, -1], 3, START)
    with pytest.raises(ValueError, match="trials"):
        forecast_when([1], 3, START, trials=0)


def finished_on(key: str, finished: datetime) -> ItemTimeline:
    iid = f"jira:issue:{key}"
    item = WorkItem(
        id=iid,
        team="t",
        source="jira",
        key=key,
        kind=ItemKind.ISSUE,
        type="Story",
        title=key,
        status="Done",
        stage=Stage.DONE,
        created_at=finished - timedelta(days=3),
        updated_at=finished,
    )
    moves = [
        Transition(
            iid, finished - timedelta(days=2), "To Do", "Doing", Stage.BACKLOG, Stage.ACTIVE
        ),
        Transition(iid, finished, "Doing", "Done", Stage.ACTIVE, Stage.DONE),
    ]
    return build_timeline(item, moves)


def test_daily_samples_include_zero_days_and_exclude_today() -> None:
    now = datetime(2026, 3, 10, 15, tzinfo=UTC)
    timelines = [
        finished_on("A", datetime(2026, 3, 9, 10, tzinfo=UTC)),
        finished_on("B", datetime(2026, 3, 9, 11, tzinfo=UTC)),
        finished_on("C", datetime(2026, 3, 7, 10, tzinfo=UTC)),
        finished_on("TODAY", datetime(2026, 3, 10, 9, tzinfo=UTC)),
        finished_on("OLD", datetime(2026, 3, 1, 9, tzinfo=UTC)),
    ]
    # The 5 days before 10 March: 5th, 6th, 7th, 8th, 9th.
    assert daily_samples(timelines, now, UTC, days=5) == [0, 0, 1, 0, 2]
    assert len(daily_samples(timelines, now, UTC)) == 60
    with pytest.raises(ValueError, match="days"):
        daily_samples(timelines, now, UTC, days=0)
