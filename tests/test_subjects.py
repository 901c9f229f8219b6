"""One finding per subject: the detectors' findings about one item merge into one voice."""

from __future__ import annotations

import dataclasses
from datetime import UTC

from detector_fixtures import NOW, TEAM, SnapshotBuilder, ago

from insights.agreements import Agreements
from insights.detectors import run_detectors
from insights.findings import ASSIGNEE, REVIEWER, Severity
from insights.model import ReviewState, Snapshot
from insights.report import build_report
from insights.subjects import ITEM_DETECTOR, focus, merge_by_subject


def _link(snapshot: Snapshot, pr_key: str, item_key: str) -> Snapshot:
    items = [
        dataclasses.replace(i, linked_keys=(item_key,)) if i.key == pr_key else i
        for i in snapshot.items
    ]
    return dataclasses.replace(snapshot, items=items)


def _neglected_team() -> Snapshot:
    """OLD is stale and aging; STUCK is blocked by DEP-1 and stale; acme/api#1 waits on ben."""
    builder = SnapshotBuilder()
    for n in range(12):
        builder.finished(f"H-{n}", ago(days=40 + n), 3 + n % 4)
    builder.issue("OLD", ("In Progress", ago(days=30)))
    builder.issue("DEP-1", ("In Progress", ago(days=1)))
    builder.issue(
        "STUCK", ("In Progress", ago(days=20)), flags=[(ago(days=9), True)], blocked_by=["DEP-1"]
    )
    builder.issue("REVIEWED", ("In Progress", ago(days=2)))
    builder.pr(1, ago(days=4), (ago(days=4), ReviewState.REQUESTED, "ben"), author="cat")
    return _link(builder.build(), "acme/api#1", "REVIEWED")


def _merged() -> tuple[list, list]:
    snapshot = _neglected_team()
    raw = run_detectors(snapshot, Agreements(), NOW, UTC)
    return raw, merge_by_subject(raw, snapshot, TEAM)


def test_every_subject_gets_one_finding_carrying_every_reason() -> None:
    raw, merged = _merged()
    items = [f for f in merged if f.subject != "team"]
    assert len({f.subject for f in items}) == len(items)
    old = next(f for f in items if f.subject == "OLD")
    assert {r.detector for r in old.reasons} == {"aging_item", "stale_item"}
    assert sorted(old.reasons, key=repr) == sorted((f for f in raw if f.subject == "OLD"), key=repr)
    assert old.detector == ITEM_DETECTOR
    assert old.evidence["reason_count"] == 2


def test_the_most_specific_action_wins_and_the_worst_severity_is_kept() -> None:
    _, merged = _merged()
    stuck = next(f for f in merged if f.subject == "STUCK")
    assert stuck.reasons[0].detector == "blocked_item"
    assert stuck.action == stuck.reasons[0].action
    assert "DEP-1" in stuck.title and "DEP-1" in stuck.action
    assert stuck.severity is max((r.severity for r in stuck.reasons), key=lambda s: s.rank)
    assert stuck.people == ("ana",) and stuck.role == ASSIGNEE


def test_a_pull_request_finding_speaks_through_its_linked_item_and_names_the_reviewer() -> None:
    _, merged = _merged()
    assert not any(f.subject == "acme/api#1" for f in merged)
    reviewed = next(f for f in merged if f.subject == "REVIEWED")
    assert reviewed.reasons[0].detector == "pr_waiting_review"
    assert reviewed.people == ("ben",) and reviewed.role == REVIEWER
    assert reviewed.url == "https://tracker.invalid/browse/REVIEWED"
    assert reviewed.item_keys[:2] == ("REVIEWED", "acme/api#1")


def test_the_key_stays_the_same_when_reasons_come_and_go() -> None:
    snapshot = _neglected_team()
    now_keys = {
        f.subject: f.dedupe_key
        for f in merge_by_subject(run_detectors(snapshot, Agreements(), NOW, UTC), snapshot, TEAM)
    }
    fewer = run_detectors(snapshot, Agreements(stale_after_days=60), NOW, UTC)
    later_keys = {f.subject: f.dedupe_key for f in merge_by_subject(fewer, snapshot, TEAM)}
    assert now_keys["OLD"] == later_keys["OLD"] == f"item:{TEAM}:OLD"


def test_team_findings_stay_one_per_detector() -> None:
    raw, merged = _merged()
    assert [f for f in raw if f.subject == "team"] == [f for f in merged if f.subject == "team"]


def test_focus_ranks_by_cost_of_delay_and_leaves_out_heads_ups() -> None:
    snapshot = _neglected_team()
    report = build_report(snapshot, Agreements(), NOW, UTC)
    assert len(report.focus) <= 5
    assert all(f.finding.severity.rank >= Severity.WARN.rank for f in report.focus)
    costs = [f.cost for f in report.focus]
    assert costs == sorted(costs, reverse=True)
    stuck = next(f for f in report.focus if f.finding.subject == "STUCK")
    assert stuck.blocked
    p85 = report.metrics["cycle_time_seconds_p85"]
    ages = {i.key: i.age_seconds for i in report.items if i.finished_at is None}
    expected = stuck.finding.severity.rank + ages["STUCK"] / p85 + 1.0
    assert stuck.cost == round(expected, 3)


def test_focus_counts_the_people_waiting_on_an_item() -> None:
    snapshot = _neglected_team()
    raw = run_detectors(snapshot, Agreements(), NOW, UTC)
    merged = merge_by_subject(raw, snapshot, TEAM)
    ranked = {f.finding.subject: f for f in focus(merged, snapshot, NOW, {}, None, limit=10)}
    assert ranked["REVIEWED"].people_waiting == 1  # ben is asked to review its PR
    assert ranked["STUCK"].people_waiting == 0
    assert ranked["OLD"].age_ratio == 0  # no p85: the age part is left out
