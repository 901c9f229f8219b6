"""stale_item: in-progress work with no change for longer than the agreement."""

from __future__ import annotations

from detector_fixtures import SnapshotBuilder, ago, by_subject, detect

from insights.agreements import Agreements
from insights.detectors import stale_item
from insights.findings import Severity


def test_no_change_past_the_agreement_warns_and_three_times_it_is_critical() -> None:
    builder = SnapshotBuilder()
    builder.issue("FRESH", ("In Progress", ago(days=4)))
    builder.issue("QUIET", ("In Progress", ago(days=6)))
    builder.issue("DEAD", ("In Progress", ago(days=16)))
    findings = by_subject(detect(stale_item, builder.build()))
    assert {k: f.severity for k, f in findings.items()} == {
        "QUIET": Severity.WARN,
        "DEAD": Severity.CRITICAL,
    }
    quiet = findings["QUIET"]
    assert quiet.title == "QUIET has not changed for 6 days (still In Progress)"
    assert quiet.evidence["days_without_change"] == 6.0
    assert quiet.people == ("ana",) and quiet.role == "assignee"


def test_any_update_or_flag_change_counts_as_a_change() -> None:
    builder = SnapshotBuilder()
    builder.issue("COMMENTED", ("In Progress", ago(days=10)), updated=ago(days=1))
    builder.issue(
        "UNFLAGGED",
        ("In Progress", ago(days=10)),
        flags=[(ago(days=9), True), (ago(days=2), False)],
    )
    assert detect(stale_item, builder.build()) == []


def test_the_agreement_sets_the_threshold() -> None:
    builder = SnapshotBuilder()
    builder.issue("A-1", ("In Progress", ago(days=3)))
    assert detect(stale_item, builder.build()) == []
    [finding] = detect(stale_item, builder.build(), Agreements(stale_after_days=2))
    assert finding.evidence["stale_after_days"] == 2


def test_blocked_and_finished_items_are_not_stale() -> None:
    builder = SnapshotBuilder()
    builder.issue("BLOCKED", ("In Progress", ago(days=20)), ("Blocked", ago(days=10)))
    builder.issue("FLAGGED", ("In Progress", ago(days=20)), flags=[(ago(days=10), True)])
    builder.issue("DONE", ("In Progress", ago(days=30)), ("Done", ago(days=20)))
    builder.issue("BACKLOG", created=ago(days=90))
    assert detect(stale_item, builder.build()) == []
