"""Scope forecasts (issue 18): exact dates, growth, levers, the target's chance, short history."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, timedelta

import numpy as np
import pytest
from detector_fixtures import NOW, SnapshotBuilder, ago

from insights.model import Snapshot
from insights.scope_forecast import simulate
from insights.scopes import (
    HORIZON_DAYS,
    Levers,
    ScopeRef,
    scope_forecast,
    scope_items,
    scope_model,
    what_if,
)

TODAY = NOW.date()
EPIC = ScopeRef("epic", "PAY-100")


def in_scope(snapshot: Snapshot, prefix: str, **fields: object) -> Snapshot:
    """``snapshot`` with the items whose key starts with ``prefix`` given ``fields``."""
    items = [
        replace(item, **fields) if item.key.startswith(prefix) else item for item in snapshot.items
    ]
    return replace(snapshot, items=items)


def team(builder: SnapshotBuilder, per_day: list[int]) -> None:
    """Team items finished on each of the days before today, ``per_day`` oldest first."""
    for index, count in enumerate(per_day):
        days_ago = len(per_day) - index
        for n in range(count):
            builder.finished(f"T{days_ago}-{n}", ago(days_ago, hours=2), 1 / 24)


def epic(builder: SnapshotBuilder, added: dict[int, int]) -> Snapshot:
    """The team's snapshot with ``added[d]`` open items of epic PAY-100 created ``d`` days ago."""
    for days_ago, count in added.items():
        for n in range(count):
            builder.issue(f"E{days_ago}-{n}", created=ago(days_ago, hours=1))
    return in_scope(builder.build(), "E", parent_key="PAY-100")


def steady(added: dict[int, int], per_day: int = 2) -> Snapshot:
    builder = SnapshotBuilder()
    team(builder, [per_day] * 60)
    return epic(builder, added)


def noisy() -> Snapshot:
    """Throughput and growth that vary day to day: 30 planned items, 0-2 added a day since."""
    builder = SnapshotBuilder()
    team(builder, [d % 4 for d in range(60)])
    return epic(builder, {30: 30, **{d: d % 3 for d in range(1, 30)}})


def test_constant_throughput_and_no_growth_give_exact_dates() -> None:
    forecast = scope_forecast(
        steady({30: 20}), replace(EPIC, target=TODAY + timedelta(days=10)), NOW, UTC
    )

    assert (forecast.done, forecast.remaining, forecast.total) == (0, 20, 20)
    assert forecast.growth_per_week == 0
    assert forecast.dates == dict.fromkeys((50, 85, 95), TODAY + timedelta(days=10))
    assert forecast.probability == 1.0 and forecast.too_short is None
    assert forecast.basis_days == 60 and not forecast.never


def test_a_day_earlier_target_has_no_chance() -> None:
    ref = replace(EPIC, target=TODAY + timedelta(days=9))
    assert scope_forecast(steady({30: 20}), ref, NOW, UTC).probability == 0.0


def test_growth_equal_to_throughput_never_finishes_and_says_so() -> None:
    snapshot = steady({40: 10, **dict.fromkeys(range(1, 40), 2)})
    forecast = scope_forecast(snapshot, replace(EPIC, target=TODAY + timedelta(days=30)), NOW, UTC)

    assert forecast.growth_per_week == 14
    assert forecast.dates == dict.fromkeys((50, 85, 95), None)
    assert forecast.beyond_horizon == 1.0 and forecast.never
    assert forecast.probability == 0.0


def test_frozen_scope_then_finishes_on_the_exact_day() -> None:
    snapshot = steady({40: 10, **dict.fromkeys(range(1, 40), 2)})
    base, frozen = what_if(snapshot, EPIC, NOW, UTC, Levers(freeze_scope=True))

    assert base.never and frozen.growth_per_week == 0
    assert frozen.dates[85] == TODAY + timedelta(days=(10 + 2 * 39) // 2)


@pytest.mark.parametrize(
    "levers",
    [Levers(freeze_scope=True), Levers(cut=5), Levers(throughput_factor=1.2)],
    ids=["freeze", "cut", "+20%"],
)
def test_levers_that_help_move_every_date_earlier(levers: Levers) -> None:
    base, changed = what_if(noisy(), EPIC, NOW, UTC, levers)

    for c in (50, 85, 95):
        assert changed.dates[c] is not None and base.dates[c] is not None
        assert changed.dates[c] <= base.dates[c]
    assert changed.dates[85] < base.dates[85]


def test_less_throughput_moves_the_dates_later() -> None:
    base, slower = what_if(noisy(), EPIC, NOW, UTC, Levers(throughput_factor=0.8))

    assert all(slower.dates[c] >= base.dates[c] for c in (50, 85, 95))  # type: ignore[operator]
    assert slower.dates[85] > base.dates[85]  # type: ignore[operator]


def test_the_chance_grows_with_a_later_target() -> None:
    chances = [
        scope_forecast(
            noisy(), replace(EPIC, target=TODAY + timedelta(days=d)), NOW, UTC
        ).probability
        for d in (100, 125, 150, 200)
    ]
    assert chances == sorted(chances)
    assert 0 < chances[0] < 0.5 < chances[-1] < 1
    assert scope_forecast(noisy(), EPIC, NOW, UTC).probability is None  # no target


def test_the_cut_needed_is_the_smallest_that_reaches_the_confidence() -> None:
    model = scope_model(noisy(), replace(EPIC, target=TODAY + timedelta(days=30)), NOW, UTC)
    base = model.probability(Levers())
    assert base is not None and base < 0.7

    cut = model.cut_needed(0.7)

    assert cut is not None and 0 < cut <= model.remaining
    assert model.probability(Levers(cut=cut)) >= 0.7  # type: ignore[operator]
    assert model.probability(Levers(cut=cut - 1)) < 0.7  # type: ignore[operator]
    assert model.forecast(Levers(cut=cut)).probability == model.probability(Levers(cut=cut))


def test_a_young_scope_is_too_short_to_trust() -> None:
    forecast = scope_forecast(steady({5: 8}), EPIC, NOW, UTC)

    assert forecast.too_short is not None and "5 days of history" in forecast.too_short
    assert forecast.dates[50] == TODAY + timedelta(days=4)  # still forecast, flagged


def test_no_throughput_gives_no_forecast_and_says_why() -> None:
    forecast = scope_forecast(
        epic(SnapshotBuilder(), {30: 8}), replace(EPIC, target=TODAY), NOW, UTC
    )

    assert forecast.too_short == "the team finished no item in the last 60 days"
    assert forecast.dates == dict.fromkeys((50, 85, 95), None)
    assert forecast.probability is None and forecast.remaining == 8


def test_the_burn_up_history_counts_done_and_scope_by_day() -> None:
    builder = SnapshotBuilder()
    builder.issue("E1", ("In Progress", ago(4)), ("Done", ago(3)), created=ago(10))
    builder.issue("E2", created=ago(10))
    builder.issue("E3", created=ago(2))
    snapshot = in_scope(builder.build(), "E", labels=("release-2.3",))
    forecast = scope_forecast(snapshot, ScopeRef("label", "release-2.3"), NOW, UTC)

    assert forecast.history[0] == (TODAY - timedelta(days=10), 0, 2)
    assert forecast.history[-1] == (TODAY, 1, 3)
    assert [d for d, _, _ in forecast.history] == [
        TODAY - timedelta(days=10 - n) for n in range(11)
    ]
    assert dict((d, done) for d, done, _ in forecast.history)[TODAY - timedelta(days=3)] == 1
    assert (forecast.done, forecast.remaining, forecast.total) == (1, 2, 3)


def test_scope_items_are_flow_issues_not_cancelled_nor_created_later() -> None:
    builder = SnapshotBuilder()
    builder.issue("E1", created=ago(5))
    builder.issue("E2", ("Won't Do", ago(1)), created=ago(5))
    builder.issue("E3", created=ago(5), type="Sub-task")
    builder.issue("E4", created=ago(5), type="Epic")
    builder.issue("X1", created=ago(5))
    snapshot = in_scope(builder.build(), "E", parent_key="PAY-100", labels=("r1",))

    assert [i.key for i in scope_items(snapshot, EPIC)] == ["E1"]
    assert [i.key for i in scope_items(snapshot, ScopeRef("label", "r1"))] == ["E1"]
    earlier = NOW - timedelta(days=6)
    assert scope_forecast(snapshot, EPIC, earlier, UTC).total == 0  # as of before they existed


def test_a_scope_is_named_after_what_it_is() -> None:
    assert ScopeRef("epic", "PAY-100").name == "epic PAY-100"
    assert ScopeRef("label", "release-2.3", name="Release 2.3").name == "Release 2.3"
    with pytest.raises(ValueError, match="one of epic, label, release, filter"):
        ScopeRef("version", "2.3")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cut"):
        Levers(cut=-1)
    with pytest.raises(ValueError, match="throughput_factor"):
        Levers(throughput_factor=0)


def test_stochastic_rounding_keeps_the_mean_of_a_scaled_throughput() -> None:
    basis = np.array([1, 2, 3], dtype=np.int64)
    trials = simulate(
        basis, np.array([], dtype=np.int64), 10**9, days=64, trials=2000, seed=1, factor=1.3
    )
    mean_per_day = trials.best_progress.mean() / 64
    assert mean_per_day == pytest.approx(2 * 1.3, rel=0.01)


def test_a_scope_already_done_is_done_today() -> None:
    builder = SnapshotBuilder()
    team(builder, [1] * 60)
    builder.issue("E1", ("In Progress", ago(4)), ("Done", ago(3)), created=ago(20))
    snapshot = in_scope(builder.build(), "E", parent_key="PAY-100")
    forecast = scope_forecast(snapshot, replace(EPIC, target=TODAY), NOW, UTC)

    assert forecast.dates == dict.fromkeys((50, 85, 95), TODAY)
    assert forecast.probability == 1.0 and forecast.remaining == 0


def test_the_horizon_is_the_team_forecasts_horizon() -> None:
    assert HORIZON_DAYS == 3650
    assert date.fromordinal(TODAY.toordinal() + HORIZON_DAYS).year == TODAY.year + 10
