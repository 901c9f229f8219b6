"""pr_review_long: open pull requests whose review started long ago."""

from __future__ import annotations

from detector_fixtures import SnapshotBuilder, ago, by_subject, detect

from insights.agreements import Agreements
from insights.detectors import pr_review_long
from insights.findings import Severity
from insights.model import ReviewState

COMMENTED = ReviewState.COMMENTED


def test_a_review_running_past_the_agreement_warns() -> None:
    builder = SnapshotBuilder()
    builder.pr(1, ago(days=5), (ago(hours=80), COMMENTED, "ben"), (ago(hours=2), COMMENTED, "chen"))
    builder.pr(2, ago(days=5), (ago(hours=70), COMMENTED, "ben"))
    builder.pr(3, ago(days=12), (ago(days=10), COMMENTED, "ben"))
    findings = by_subject(detect(pr_review_long, builder.build()))
    assert {k: f.severity for k, f in findings.items()} == {
        "acme/api#1": Severity.WARN,
        "acme/api#3": Severity.CRITICAL,
    }
    finding = findings["acme/api#1"]
    assert finding.title == (
        "acme/api#1 has been in review for 3.3 days since its first review and is still not merged"
    )
    assert finding.evidence["reviewers"] == "ben, chen"


def test_the_agreement_sets_the_threshold() -> None:
    builder = SnapshotBuilder()
    builder.pr(1, ago(days=5), (ago(hours=30), COMMENTED, "ben"))
    assert detect(pr_review_long, builder.build()) == []
    assert detect(pr_review_long, builder.build(), Agreements(review_running_hours=24)) != []


def test_merged_drafts_and_unreviewed_pull_requests_are_left_out() -> None:
    builder = SnapshotBuilder()
    builder.pr(1, ago(days=9), (ago(days=8), COMMENTED, "ben"), merged=ago(days=1))
    builder.pr(2, ago(days=9), (ago(days=8), COMMENTED, "ben"), draft=True)
    builder.pr(3, ago(days=9), (ago(days=8), COMMENTED, "ana"))  # the author's own comments
    builder.pr(4, ago(days=9))
    assert detect(pr_review_long, builder.build()) == []
