"""pr_large: open pull requests changing more lines than the team's guideline."""

from __future__ import annotations

from detector_fixtures import SnapshotBuilder, ago, by_subject, detect

from insights.agreements import Agreements
from insights.detectors import pr_large
from insights.findings import Severity


def test_large_is_a_heads_up_and_twice_the_guideline_warns() -> None:
    builder = SnapshotBuilder()
    builder.pr(1, ago(hours=5), additions=300, deletions=100)
    builder.pr(2, ago(hours=5), additions=400, deletions=77)
    builder.pr(3, ago(hours=5), additions=700, deletions=200)
    findings = by_subject(detect(pr_large, builder.build()))
    assert {k: f.severity for k, f in findings.items()} == {
        "acme/api#2": Severity.INFO,
        "acme/api#3": Severity.WARN,
    }
    assert findings["acme/api#2"].title == (
        "acme/api#2 changes 477 lines, more than the team's 400-line guideline"
    )
    assert findings["acme/api#2"].evidence["changed_lines"] == 477


def test_the_agreement_sets_the_guideline() -> None:
    builder = SnapshotBuilder()
    builder.pr(1, ago(hours=5), additions=150, deletions=0)
    assert detect(pr_large, builder.build()) == []
    assert detect(pr_large, builder.build(), Agreements(large_pr_lines=100)) != []


def test_merged_drafts_and_unknown_sizes_are_left_out() -> None:
    builder = SnapshotBuilder()
    builder.pr(1, ago(days=2), additions=2000, merged=ago(days=1))
    builder.pr(2, ago(days=2), additions=2000, draft=True)
    builder.pr(3, ago(days=2), additions=None, deletions=None)
    assert detect(pr_large, builder.build()) == []
