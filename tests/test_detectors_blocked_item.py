"""blocked_item: flagged, in a blocked stage, or waiting on an unresolved blocker for too long."""

from __future__ import annotations

from detector_fixtures import SnapshotBuilder, ago, by_subject, detect

from insights.agreements import Agreements
from insights.detectors import blocked_item
from insights.findings import Severity


def test_a_flag_older_than_the_agreement_warns_and_much_older_is_critical() -> None:
    builder = SnapshotBuilder()
    builder.issue("NEW", ("In Progress", ago(days=5)), flags=[(ago(hours=40), True)])
    builder.issue("OLD", ("In Progress", ago(days=5)), flags=[(ago(hours=50), True)])
    builder.issue("ANCIENT", ("In Progress", ago(days=9)), flags=[(ago(days=7), True)])
    findings = by_subject(detect(blocked_item, builder.build()))
    assert {k: f.severity for k, f in findings.items()} == {
        "OLD": Severity.WARN,
        "ANCIENT": Severity.CRITICAL,
    }
    old = findings["OLD"]
    assert (
        old.title == "OLD has been blocked for 2.1 days (flagged as an impediment) since Mon 23 Nov"
    )
    assert old.evidence["blocked_hours"] == 50.0
    assert old.evidence["blocked_alert_after_hours"] == 48
    assert old.dedupe_key == "blocked_item:payments:OLD"


def test_the_agreement_sets_the_threshold() -> None:
    builder = SnapshotBuilder()
    builder.issue("A-1", ("In Progress", ago(days=5)), flags=[(ago(hours=10), True)])
    assert detect(blocked_item, builder.build()) == []
    [finding] = detect(blocked_item, builder.build(), Agreements(blocked_alert_after_hours=8))
    assert finding.severity is Severity.WARN


def test_a_cleared_flag_is_not_a_block() -> None:
    builder = SnapshotBuilder()
    flags = [(ago(days=4), True), (ago(days=3), False)]
    builder.issue("A-1", ("In Progress", ago(days=5)), flags=flags)
    assert detect(blocked_item, builder.build()) == []


def test_a_blocked_stage_counts_from_entering_it() -> None:
    builder = SnapshotBuilder()
    builder.issue("A-1", ("In Progress", ago(days=9)), ("Blocked", ago(days=3)))
    [finding] = detect(blocked_item, builder.build())
    assert finding.title == "A-1 has been blocked for 3 days (in Blocked) since Sun 22 Nov"
    assert finding.severity is Severity.WARN


def test_the_earliest_reason_starts_the_block() -> None:
    builder = SnapshotBuilder()
    builder.issue(
        "A-1", ("In Progress", ago(days=9)), ("Blocked", ago(days=3)), flags=[(ago(days=4), True)]
    )
    [finding] = detect(blocked_item, builder.build())
    assert finding.evidence["blocked_hours"] == 96.0
    assert "flagged as an impediment and in Blocked" in finding.title


def test_an_unresolved_blocker_link_blocks_and_a_finished_one_does_not() -> None:
    builder = SnapshotBuilder()
    builder.issue("DEP-1", ("In Progress", ago(days=1)))
    builder.finished("DEP-2", ago(days=8), 2)
    builder.issue("WAITS", ("In Progress", ago(days=6)), blocked_by=["DEP-1", "DEP-2", "EXT-9"])
    builder.issue("FREE", ("In Progress", ago(days=6)), blocked_by=["DEP-2"])
    [finding] = detect(blocked_item, builder.build())
    assert finding.subject == "WAITS"
    assert finding.item_keys == ("WAITS", "DEP-1", "EXT-9")
    assert "blocked by DEP-1, EXT-9" in finding.title
    assert finding.action.startswith("Ask whoever owns DEP-1, EXT-9 to unblock WAITS today")


def test_items_not_in_progress_are_not_reported() -> None:
    builder = SnapshotBuilder()
    builder.issue("IDEA", flags=[(ago(days=9), True)])  # flagged in the backlog
    builder.issue(
        "DONE", ("In Progress", ago(days=9)), ("Done", ago(days=1)), flags=[(ago(days=8), True)]
    )
    assert detect(blocked_item, builder.build()) == []
