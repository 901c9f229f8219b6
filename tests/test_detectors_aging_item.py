"""aging_item: in-progress work past the team's cycle-time percentiles, overall or per stage."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from detector_fixtures import NOW, SnapshotBuilder, ago, by_subject, detect, history

from insights.agreements import Agreements
from insights.detectors import aging_item
from insights.findings import Severity


def team_with_history() -> SnapshotBuilder:
    """Ten finished items of 1..10 calendar days (AA): p70 = 7, p85 = 9, p95 = 10 days."""
    builder = SnapshotBuilder()
    history(builder, [n - 0.5 for n in range(1, 11)])
    return builder


def started(builder: SnapshotBuilder, key: str, age_days: int) -> None:
    """An item In Progress whose AA age today is ``age_days``."""
    builder.issue(key, ("In Progress", ago(days=age_days - 1, hours=1)))


def test_age_past_each_percentile_sets_the_severity() -> None:
    builder = team_with_history()
    for key, age in (("YOUNG", 6), ("P70", 7), ("P85", 9), ("P95", 10), ("OLD", 11)):
        started(builder, key, age)
    findings = by_subject(detect(aging_item, builder.build()))
    assert {k: f.severity for k, f in findings.items()} == {
        "P70": Severity.INFO,
        "P85": Severity.WARN,
        "P95": Severity.WARN,  # critical only strictly past the 95th percentile
        "OLD": Severity.CRITICAL,
    }
    old = findings["OLD"]
    assert old.title.startswith(
        "OLD has been in progress for 11 days, past this team's 95th percentile cycle time "
        "(10 days)"
    )
    assert old.evidence["age_days"] == 11
    assert old.evidence["cycle_time_p95_days"] == 10
    assert old.evidence["finished_items_in_history"] == 10
    assert old.dedupe_key == "aging_item:payments:OLD"
    assert old.url == "https://tracker.invalid/browse/OLD"
    assert "reaching" in findings["P85"].title


def test_quiet_without_five_finished_items() -> None:
    builder = SnapshotBuilder()
    history(builder, [1, 2, 3, 4])
    started(builder, "OLD", 60)
    assert detect(aging_item, builder.build()) == []


def test_the_team_aging_percentile_moves_the_warning() -> None:
    builder = team_with_history()
    started(builder, "P70", 7)
    [finding] = detect(aging_item, builder.build(), Agreements(aging_percentile=70))
    assert finding.severity is Severity.WARN
    assert "70th percentile" in finding.title


def test_the_severity_changes_but_the_key_does_not() -> None:
    builder = team_with_history()
    started(builder, "A-1", 7)
    snapshot = builder.build()
    early = detect(aging_item, snapshot)
    later = detect(aging_item, snapshot, now=NOW + timedelta(days=4))
    assert [f.severity for f in early + later] == [Severity.INFO, Severity.CRITICAL]
    assert early[0].dedupe_key == later[0].dedupe_key


def test_time_in_a_stage_is_compared_with_that_stage_history() -> None:
    builder = team_with_history()
    for n in range(1, 7):  # Code Review usually takes 1..6 hours
        builder.issue(
            f"R-{n}",
            ("In Progress", ago(days=12 + n)),
            ("Code Review", ago(days=10 + n)),
            ("QA", ago(days=10 + n, hours=-n)),
            ("Done", ago(days=10)),
        )
    builder.issue("STUCK", ("In Progress", ago(days=3)), ("Code Review", ago(days=2)))
    [finding] = detect(aging_item, builder.build())
    assert finding.subject == "STUCK"
    assert finding.severity is Severity.CRITICAL
    assert finding.title == (
        "STUCK has been in Code Review for 2 days, past this team's 95th percentile for that "
        "stage (6 hours)"
    )
    assert finding.evidence["time_in_status_days"] == 2.0
    assert finding.evidence["status_p95_days"] == 0.2


def test_both_reasons_are_named_when_both_apply() -> None:
    builder = team_with_history()
    for n in range(1, 7):
        builder.issue(
            f"R-{n}",
            ("Code Review", ago(days=10 + n)),
            ("QA", ago(days=10 + n, hours=-n)),
            ("Done", ago(days=10)),
        )
    builder.issue("OLD", ("In Progress", ago(days=20)), ("Code Review", ago(days=3)))
    [finding] = detect(aging_item, builder.build())
    assert finding.severity is Severity.CRITICAL
    assert finding.title.startswith("OLD has been in progress for 21 days, past")
    assert finding.title.endswith("; 3 days of it in Code Review")


def test_a_blocked_stage_is_left_to_blocked_item() -> None:
    builder = team_with_history()
    for n in range(1, 7):
        builder.issue(
            f"B-{n}",
            ("Blocked", ago(days=10 + n)),
            ("QA", ago(days=10 + n, hours=-1)),
            ("Done", ago(days=10)),
        )
    builder.issue("WAIT", ("In Progress", ago(days=2)), ("Blocked", ago(days=1)))
    assert detect(aging_item, builder.build()) == []


def test_items_not_in_progress_are_not_aging() -> None:
    builder = team_with_history()
    builder.issue("BACK", ("In Progress", ago(days=30)), ("Backlog", ago(days=20)))
    builder.issue("GONE", ("In Progress", ago(days=30)), ("Won't Do", ago(days=1)))
    assert detect(aging_item, builder.build()) == []


def test_age_counts_calendar_days_in_the_team_time_zone() -> None:
    builder = team_with_history()
    # started at 23:00 in Auckland (UTC+13) where it is already tomorrow: 7 days in UTC, 8 there
    builder.issue("A-1", ("In Progress", NOW.replace(hour=10) - timedelta(days=6)))
    utc = detect(aging_item, builder.build())
    auckland = detect(aging_item, builder.build(), tz=ZoneInfo("Pacific/Auckland"))
    assert utc[0].evidence["age_days"] == 7
    assert auckland[0].evidence["age_days"] == 8


def test_a_stage_usually_passed_through_at_once_still_ranks_without_error() -> None:
    builder = team_with_history()
    for n in range(6):  # automation moves items through Code Review instantly
        at = ago(days=10 + n)
        builder.issue(f"R-{n}", ("Code Review", at), ("QA", at), ("Done", ago(days=9)))
    builder.issue("SLOW", ("In Progress", ago(hours=3)), ("Code Review", ago(hours=1)))
    [finding] = detect(aging_item, builder.build())
    assert finding.subject == "SLOW"
    assert finding.severity is Severity.CRITICAL
    assert finding.evidence["status_p95_days"] == 0.0
