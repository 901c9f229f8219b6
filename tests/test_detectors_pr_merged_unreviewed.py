"""pr_merged_unreviewed: pull requests merged in the last week without a human review."""

from __future__ import annotations

from detector_fixtures import SnapshotBuilder, ago, detect

from insights.detectors import pr_merged_unreviewed
from insights.findings import Severity
from insights.model import ReviewState

APPROVED = ReviewState.APPROVED


def test_a_merge_without_review_warns() -> None:
    builder = SnapshotBuilder()
    builder.pr(1, ago(days=3), merged=ago(days=2))
    builder.pr(2, ago(days=3), (ago(days=2, hours=1), APPROVED, "ben"), merged=ago(days=2))
    [finding] = detect(pr_merged_unreviewed, builder.build())
    assert finding.subject == "acme/api#1"
    assert finding.severity is Severity.WARN
    assert finding.title == "acme/api#1 was merged without a review"
    assert finding.evidence["merged_at"] == ago(days=2).isoformat()


def test_self_reviews_bot_reviews_and_reviews_after_the_merge_do_not_count() -> None:
    builder = SnapshotBuilder()
    builder.pr(1, ago(days=3), (ago(days=2, hours=1), APPROVED, "ana"), merged=ago(days=2))
    builder.pr(2, ago(days=3), (ago(days=2, hours=1), APPROVED, "renovate"), merged=ago(days=2))
    builder.pr(3, ago(days=3), (ago(days=1), APPROVED, "ben"), merged=ago(days=2))
    findings = detect(pr_merged_unreviewed, builder.build())
    assert sorted(f.subject for f in findings) == ["acme/api#1", "acme/api#2", "acme/api#3"]


def test_old_merges_bot_authors_and_open_pull_requests_are_left_out() -> None:
    builder = SnapshotBuilder()
    builder.pr(1, ago(days=12), merged=ago(days=10))
    builder.pr(2, ago(days=3), merged=ago(days=2), author="dependabot[bot]")
    builder.pr(3, ago(days=3))
    builder.pr(4, ago(days=3), closed=ago(days=2))
    assert detect(pr_merged_unreviewed, builder.build()) == []
