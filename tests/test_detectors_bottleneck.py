"""bottleneck: the status holding the largest share of waiting time over 30 days."""

from __future__ import annotations

from detector_fixtures import SnapshotBuilder, ago, detect

from insights.detectors import bottleneck
from insights.findings import Severity


def test_the_status_where_work_waited_longest_is_named() -> None:
    builder = SnapshotBuilder()
    for n in range(3):  # 2 days each in Ready for QA, 1 day in Selected
        builder.issue(
            f"A-{n}",
            ("Selected", ago(days=10 + n)),
            ("In Progress", ago(days=9 + n)),
            ("Ready for QA", ago(days=7 + n)),
            ("QA", ago(days=5 + n)),
            ("Done", ago(days=4 + n)),
        )
    [finding] = detect(bottleneck, builder.build())
    assert finding.severity is Severity.INFO
    assert finding.subject == "team"
    assert finding.title == (
        "Ready for QA is where work waits most: 67% of the waiting time in the last 30 days "
        "(6.0 item-days)"
    )
    assert finding.evidence["waiting_item_days"] == 6.0
    assert finding.evidence["total_waiting_item_days"] == 9.0
    assert finding.evidence["share_of_time_in_progress"] == round(6 / 18, 3)
    assert set(finding.item_keys) == {"A-0", "A-1", "A-2"}
    assert finding.dedupe_key == "bottleneck:payments:ready for qa"


def test_only_the_last_30_days_count_and_current_stays_run_to_now() -> None:
    builder = SnapshotBuilder()
    builder.issue("OLD", ("Ready for QA", ago(days=80)), ("Done", ago(days=31)))  # outside
    builder.issue("NOW", ("In Progress", ago(days=5)), ("Selected", ago(days=2)))
    builder.issue("LONG", ("Ready for QA", ago(days=45)))  # counts its last 30 days only
    [finding] = detect(bottleneck, builder.build())
    assert finding.title.startswith("Ready for QA is where work waits most: 94%")
    assert finding.evidence["waiting_item_days"] == 30.0
    assert finding.evidence["total_waiting_item_days"] == 32.0
    assert finding.item_keys == ("LONG",)


def test_blocked_time_counts_as_waiting() -> None:
    builder = SnapshotBuilder()
    builder.issue(
        "A-1", ("Selected", ago(days=9)), ("In Progress", ago(days=8)), ("Blocked", ago(days=6))
    )
    [finding] = detect(bottleneck, builder.build())
    assert finding.evidence["status"] == "Blocked"
    assert finding.evidence["waiting_item_days"] == 6.0


def test_no_waiting_no_finding() -> None:
    builder = SnapshotBuilder()
    builder.issue("A-1", ("In Progress", ago(days=5)), ("Done", ago(days=1)))
    assert detect(bottleneck, builder.build()) == []


def test_a_change_dated_before_the_item_was_created_adds_no_waiting_time() -> None:
    # A vendor history can put a status change before the item's creation: the initial stay
    # then "lasts" a negative time. It must not cancel out another status's waiting time.
    builder = SnapshotBuilder()
    builder.issue(
        "ODD",
        ("In Progress", ago(days=6)),
        created=ago(days=4),
        first_status="Ready for QA",
    )
    builder.issue("A-1", ("Ready for QA", ago(days=3)), ("Done", ago(days=1)))
    [finding] = detect(bottleneck, builder.build())
    assert finding.evidence["status"] == "Ready for QA"
    assert finding.evidence["waiting_item_days"] == 2.0
    assert finding.evidence["share_of_time_in_progress"] == round(2 / (2 + 6), 3)
