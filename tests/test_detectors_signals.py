"""signals: weekly cycle time and throughput against their XmR natural process limits."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from detector_fixtures import NOW, SnapshotBuilder, detect

from insights.detectors import signals
from insights.findings import Severity

THIS_MONDAY = date(2026, 11, 23)  # NOW is Wednesday 25 November 2026


def monday(weeks_ago: int) -> date:
    return THIS_MONDAY - timedelta(weeks=weeks_ago)


def team(
    weeks: dict[int, list[float]], history_weeks: int = 20, last_week: int = 1
) -> SnapshotBuilder:
    """Items finished in each week from ``history_weeks`` weeks ago to ``last_week`` weeks ago.

    A steady week finishes 4 or 5 items of 2 or 3 days (median alternating 2.5 and 2); ``weeks``
    overrides a week (by how many weeks ago) with the cycle times of the items it finishes.
    """
    builder = SnapshotBuilder()
    for ago_weeks in range(history_weeks, last_week - 1, -1):
        steady = [2.0, 3.0, 2.0, 3.0] if ago_weeks % 2 else [2.0, 2.0, 3.0, 2.0, 2.0]
        for n, cycle in enumerate(weeks.get(ago_weeks, steady)):
            done = datetime.combine(monday(ago_weeks), time(10), NOW.tzinfo) + timedelta(
                days=n % 5, hours=n // 5
            )
            builder.finished(f"W{ago_weeks}-{n}", done - timedelta(days=cycle), cycle)
    return builder


def test_a_steady_team_has_no_signal() -> None:
    assert detect(signals, team({}).build()) == []


def test_a_throughput_drop_warns_with_the_week_it_began_in_its_key() -> None:
    [finding] = detect(signals, team({1: []}).build())
    assert finding.severity is Severity.WARN
    assert finding.subject == "team"
    assert finding.dedupe_key == "signals:payments:throughput:below:2026-11-16"
    assert finding.title.startswith(
        "Weekly throughput has shifted down: 0 items in the week of 16 Nov, below its natural "
        "process limit of "
    )
    assert finding.evidence["throughput_items"] == 0
    assert finding.evidence["baseline_weeks"] == 12


def test_a_shift_lasting_weeks_keeps_the_key_of_the_week_it_began() -> None:
    snapshot = team({2: [], 1: []}).build()
    first = detect(signals, snapshot, now=NOW - timedelta(weeks=1))
    second = detect(signals, snapshot)
    assert [f.dedupe_key for f in first] == ["signals:payments:throughput:below:2026-11-09"]
    assert [f.dedupe_key for f in second] == ["signals:payments:throughput:below:2026-11-09"]
    assert "outside its limits since the week of 9 Nov" in second[0].title


def test_the_recovery_is_reported_once_under_its_own_key() -> None:
    snapshot = team({2: []}, last_week=0).build()
    [recovered] = detect(signals, snapshot)
    assert recovered.severity is Severity.INFO
    assert recovered.dedupe_key == "signals:payments:throughput:below:2026-11-09:recovered"
    assert recovered.title.startswith("Weekly throughput is back within its natural process limits")
    assert detect(signals, snapshot, now=NOW + timedelta(weeks=1)) == []


def test_cycle_time_going_up_warns_and_throughput_going_up_is_good_news() -> None:
    [slow] = detect(signals, team({1: [15.0, 16.0, 15.0, 17.0]}).build())
    assert slow.severity is Severity.WARN
    assert slow.dedupe_key == "signals:payments:cycle_time:above:2026-11-16"
    assert slow.evidence["cycle_time_median_days"] == 15.5
    assert len(slow.item_keys) == 4
    [busy] = detect(signals, team({1: [2.0, 3.0] * 6}).build())
    assert busy.severity is Severity.INFO
    assert busy.dedupe_key == "signals:payments:throughput:above:2026-11-16"


def test_a_short_history_gives_no_limits() -> None:
    assert detect(signals, team({1: []}, history_weeks=5).build()) == []
