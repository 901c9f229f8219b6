"""pr_waiting_review: open pull requests no human has reviewed since they last asked."""

from __future__ import annotations

from detector_fixtures import SnapshotBuilder, ago, by_subject, detect

from insights.agreements import Agreements
from insights.detectors import pr_waiting_review
from insights.findings import Severity
from insights.model import ReviewState

REQUESTED, COMMENTED = ReviewState.REQUESTED, ReviewState.COMMENTED


def test_waiting_past_the_agreement_warns_and_three_times_it_is_critical() -> None:
    builder = SnapshotBuilder()
    builder.pr(1, ago(hours=20))
    builder.pr(2, ago(hours=30), (ago(hours=30), REQUESTED, "ben"))
    builder.pr(3, ago(hours=80))
    findings = by_subject(detect(pr_waiting_review, builder.build()))
    assert {k: f.severity for k, f in findings.items()} == {
        "acme/api#2": Severity.WARN,
        "acme/api#3": Severity.CRITICAL,
    }
    waiting = findings["acme/api#2"]
    assert waiting.title == "acme/api#2 has waited 30 hours for a first review"
    assert waiting.action == "Review it today, or say in the pull request who should instead."
    assert waiting.people == ("ben",) and waiting.role == "reviewer"
    assert waiting.evidence["waiting_hours"] == 30.0
    assert waiting.url == "https://git.invalid/acme/api/pull/2"
    assert waiting.dedupe_key == "pr_waiting_review:payments:acme/api#2"


def test_the_agreement_sets_the_threshold() -> None:
    builder = SnapshotBuilder()
    builder.pr(1, ago(hours=5))
    assert detect(pr_waiting_review, builder.build()) == []
    assert detect(pr_waiting_review, builder.build(), Agreements(review_within_hours=4)) != []


def test_drafts_bots_and_finished_pull_requests_do_not_wait() -> None:
    builder = SnapshotBuilder()
    builder.pr(1, ago(days=3), draft=True)
    builder.pr(2, ago(days=3), author="dependabot[bot]")
    builder.pr(3, ago(days=3), merged=ago(days=1))
    builder.pr(4, ago(days=3), closed=ago(days=1))
    assert detect(pr_waiting_review, builder.build()) == []


def test_only_a_review_by_another_human_ends_the_wait() -> None:
    builder = SnapshotBuilder()
    builder.pr(1, ago(days=3), (ago(days=2), COMMENTED, "ana"))  # the author
    builder.pr(2, ago(days=3), (ago(days=2), COMMENTED, "codecov"))  # a bot
    builder.pr(3, ago(days=3), (ago(days=2), COMMENTED, "ben"))
    findings = detect(pr_waiting_review, builder.build())
    assert sorted(f.subject for f in findings) == ["acme/api#1", "acme/api#2"]


def test_a_new_request_or_ready_for_review_restarts_the_wait() -> None:
    builder = SnapshotBuilder()
    builder.pr(
        1,
        ago(days=6),
        (ago(days=5), ReviewState.CHANGES_REQUESTED, "ben"),
        (ago(hours=30), REQUESTED, "ben"),
    )
    builder.pr(2, ago(days=6), (ago(hours=10), ReviewState.READY_FOR_REVIEW, None))
    builder.pr(3, ago(days=6), (ago(hours=10), REQUESTED, "copilot"))  # a bot request: no restart
    findings = by_subject(detect(pr_waiting_review, builder.build()))
    assert set(findings) == {"acme/api#1", "acme/api#3"}
    assert findings["acme/api#1"].title == "acme/api#1 has waited 30 hours for a review"
    assert findings["acme/api#3"].severity is Severity.CRITICAL
