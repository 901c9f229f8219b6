"""backflow: items moved back on the board, or reopened, in the last week."""

from __future__ import annotations

from detector_fixtures import SnapshotBuilder, ago, by_subject, detect

from insights.detectors import backflow
from insights.findings import Severity


def test_moves_back_on_the_board_and_reopens_are_reported() -> None:
    builder = SnapshotBuilder()
    builder.issue(
        "BACK", ("In Progress", ago(days=6)), ("QA", ago(days=4)), ("In Progress", ago(days=2))
    )
    builder.issue(
        "REOPEN", ("In Progress", ago(days=9)), ("Done", ago(days=5)), ("QA", ago(days=1))
    )
    builder.issue(
        "FORWARD", ("In Progress", ago(days=6)), ("QA", ago(days=4)), ("Done", ago(days=2))
    )
    findings = by_subject(detect(backflow, builder.build()))
    assert {k: f.severity for k, f in findings.items()} == {
        "BACK": Severity.INFO,
        "REOPEN": Severity.WARN,
    }
    assert findings["BACK"].title == "BACK moved from QA back to In Progress on Mon 23 Nov"
    assert (
        findings["REOPEN"].title == "REOPEN was reopened: moved from Done back to QA on Tue 24 Nov"
    )
    assert findings["BACK"].dedupe_key == f"backflow:payments:BACK:{ago(days=2).isoformat()}"
    assert findings["BACK"].evidence["from_status"] == "QA"


def test_being_blocked_unblocked_or_cancelled_is_not_backflow() -> None:
    builder = SnapshotBuilder()
    builder.issue(
        "A-1", ("QA", ago(days=6)), ("Blocked", ago(days=4)), ("In Progress", ago(days=2))
    )
    builder.issue("A-2", ("QA", ago(days=6)), ("Won't Do", ago(days=4)), ("Backlog", ago(days=2)))
    assert detect(backflow, builder.build()) == []


def test_only_the_last_week_counts_and_each_move_is_its_own_finding() -> None:
    builder = SnapshotBuilder()
    builder.issue(
        "A-1",
        ("QA", ago(days=12)),
        ("In Progress", ago(days=10)),  # too long ago
        ("QA", ago(days=6)),
        ("Code Review", ago(days=5)),
        ("QA", ago(days=4)),
        ("In Progress", ago(days=3)),
    )
    findings = detect(backflow, builder.build())
    assert [f.evidence["to_status"] for f in findings] == ["In Progress", "Code Review"]
    assert len({f.dedupe_key for f in findings}) == 2


def test_without_a_board_order_only_reopens_and_returns_to_the_backlog_count() -> None:
    builder = SnapshotBuilder()
    builder.issue("QA", ("QA", ago(days=6)), ("In Progress", ago(days=2)))
    builder.issue("BACKLOG", ("In Progress", ago(days=6)), ("Backlog", ago(days=2)))
    builder.issue("REOPEN", ("Done", ago(days=6)), ("In Progress", ago(days=2)))
    findings = detect(backflow, builder.build(statuses=()))
    assert sorted(f.subject for f in findings) == ["BACKLOG", "REOPEN"]
