"""The detector package: discovery, muting, ordering, and what every finding carries."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from detector_fixtures import NOW, TEAM, SnapshotBuilder, ago, healthy_team

from insights.agreements import Agreements
from insights.detectors import detector_names, detectors, run_detectors
from insights.findings import Severity
from insights.metrics.flow_items import item_timelines
from insights.model import ReviewState

EXPECTED = {
    "aging_item",
    "backflow",
    "blocked_item",
    "bottleneck",
    "cross_team_wait",
    "data_quality",
    "done_unmerged",
    "net_flow",
    "pr_approved_unmerged",
    "pr_large",
    "pr_merged_unreviewed",
    "pr_review_long",
    "pr_waiting_review",
    "queue_growing",
    "scope_at_risk",
    "signals",
    "stale_item",
    "untracked_merge",
    "unverified_deployment",
    "value_stream",
    "wip_over_limit",
}


def troubled_team() -> SnapshotBuilder:
    """A team with a problem for most detectors."""
    builder = healthy_team()
    builder.issue("BAD-1", ("In Progress", ago(days=40)))
    builder.issue("BAD-2", ("In Progress", ago(days=4)), flags=[(ago(days=3), True)])
    builder.issue("BAD-3", ("In Progress", ago(days=3)), ("Blocked", ago(days=7 - 4.5)))
    builder.issue(
        "BAD-4", ("In Progress", ago(days=5)), ("QA", ago(days=3)), ("In Progress", ago(days=2))
    )
    builder.pr(50, ago(days=2), (ago(days=2), ReviewState.REQUESTED, "ben"), additions=900)
    builder.pr(51, ago(days=2), merged=ago(days=1))
    return builder


def test_discovery_finds_every_detector_and_no_helper() -> None:
    assert set(detector_names()) == EXPECTED
    assert detector_names() == sorted(detector_names())
    assert not {"context", "ranking", "review_facts", "severity", "wording"} & set(detectors())


def test_findings_are_sorted_most_severe_first_then_by_subject() -> None:
    findings = run_detectors(troubled_team().build(), Agreements(wip_limit=3), NOW, UTC)
    assert {Severity.CRITICAL, Severity.WARN, Severity.INFO} <= {f.severity for f in findings}
    order = [(-f.severity.rank, f.subject, f.dedupe_key) for f in findings]
    assert order == sorted(order)


def test_every_finding_is_complete_and_keyed_by_its_detector_and_team() -> None:
    findings = run_detectors(troubled_team().build(), Agreements(wip_limit=3), NOW, UTC)
    assert {f.detector for f in findings} >= {
        "aging_item",
        "blocked_item",
        "stale_item",
        "wip_over_limit",
        "backflow",
        "pr_waiting_review",
        "pr_large",
        "pr_merged_unreviewed",
    }
    for finding in findings:
        assert finding.detector in EXPECTED
        assert finding.dedupe_key.startswith(f"{finding.detector}:{TEAM}:")
        assert finding.title and finding.action
        assert finding.item_keys, finding
        assert finding.severity.value not in finding.dedupe_key
        if finding.subject != "team":
            assert finding.subject in finding.item_keys
            assert finding.url is not None
    keys = [f.dedupe_key for f in findings]
    assert len(keys) == len(set(keys))


def test_muted_detectors_do_not_run() -> None:
    snapshot = troubled_team().build()
    every = run_detectors(snapshot, Agreements(wip_limit=3), NOW, UTC)
    muted = run_detectors(
        snapshot, Agreements(wip_limit=3), NOW, UTC, muted={"aging_item", "pr_large", "gone"}
    )
    assert {f.detector for f in every} - {f.detector for f in muted} == {"aging_item", "pr_large"}
    assert [f for f in every if f.detector not in {"aging_item", "pr_large"}] == muted


def test_timelines_built_by_the_caller_give_the_same_findings() -> None:
    snapshot = troubled_team().build()
    own = run_detectors(snapshot, Agreements(wip_limit=3), NOW, UTC)
    shared = run_detectors(
        snapshot, Agreements(wip_limit=3), NOW, UTC, timelines=item_timelines(snapshot)
    )
    assert own == shared


def test_an_empty_team_has_no_findings() -> None:
    assert run_detectors(SnapshotBuilder().build(), Agreements(wip_limit=3), NOW, UTC) == []


def test_a_naive_now_is_refused_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        run_detectors(SnapshotBuilder().build(), Agreements(), datetime(2026, 11, 25), UTC)


def test_the_healthy_team_has_nothing_worse_than_a_heads_up() -> None:
    findings = run_detectors(healthy_team().build(), Agreements(wip_limit=5), NOW, UTC)
    assert [f for f in findings if f.severity is not Severity.INFO] == []


def test_items_created_after_now_are_ignored() -> None:
    builder = SnapshotBuilder()
    builder.issue(
        "LATER-1", ("In Progress", NOW.replace(year=2027)), created=NOW.replace(year=2027)
    )
    assert run_detectors(builder.build(), Agreements(wip_limit=1), NOW, UTC) == []
