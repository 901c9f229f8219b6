"""pr_approved_unmerged: approved pull requests left unmerged."""

from __future__ import annotations

from detector_fixtures import SnapshotBuilder, ago, by_subject, detect

from insights.agreements import Agreements
from insights.detectors import pr_approved_unmerged
from insights.findings import Severity
from insights.model import ReviewState

APPROVED, CHANGES = ReviewState.APPROVED, ReviewState.CHANGES_REQUESTED


def test_approved_and_unmerged_past_the_agreement_warns() -> None:
    builder = SnapshotBuilder()
    builder.pr(1, ago(days=3), (ago(hours=30), APPROVED, "ben"))
    builder.pr(2, ago(days=3), (ago(hours=10), APPROVED, "ben"))
    builder.pr(3, ago(days=9), (ago(days=8), APPROVED, "ben"))
    findings = by_subject(detect(pr_approved_unmerged, builder.build()))
    assert {k: f.severity for k, f in findings.items()} == {
        "acme/api#1": Severity.WARN,
        "acme/api#3": Severity.CRITICAL,
    }
    assert findings["acme/api#1"].title == (
        "acme/api#1 was approved 30 hours ago and is still not merged"
    )


def test_the_agreement_sets_the_threshold() -> None:
    builder = SnapshotBuilder()
    builder.pr(1, ago(days=3), (ago(hours=10), APPROVED, "ben"))
    assert detect(pr_approved_unmerged, builder.build(), Agreements(approved_unmerged_hours=8))


def test_changes_requested_since_the_approval_is_not_an_approval() -> None:
    builder = SnapshotBuilder()
    builder.pr(1, ago(days=3), (ago(days=2), APPROVED, "ben"), (ago(days=1), CHANGES, "chen"))
    builder.pr(2, ago(days=3), (ago(days=2), APPROVED, "ben"), (ago(days=1), CHANGES, "ben"))
    assert detect(pr_approved_unmerged, builder.build()) == []


def test_merged_closed_drafts_and_bot_approvals_are_left_out() -> None:
    builder = SnapshotBuilder()
    builder.pr(1, ago(days=3), (ago(days=2), APPROVED, "ben"), merged=ago(days=1))
    builder.pr(2, ago(days=3), (ago(days=2), APPROVED, "ben"), closed=ago(days=1))
    builder.pr(3, ago(days=3), (ago(days=2), APPROVED, "ben"), draft=True)
    builder.pr(4, ago(days=3), (ago(days=2), APPROVED, "github-actions[bot]"))
    assert detect(pr_approved_unmerged, builder.build()) == []
