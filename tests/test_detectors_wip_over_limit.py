"""wip_over_limit: more items in progress than the team's limit, in total or per status."""

from __future__ import annotations

from detector_fixtures import SnapshotBuilder, ago, detect

from insights.agreements import Agreements
from insights.detectors import wip_over_limit
from insights.findings import Severity


def team(in_progress: int, in_review: int = 0) -> SnapshotBuilder:
    builder = SnapshotBuilder()
    for n in range(in_progress):
        builder.issue(f"IP-{n}", ("In Progress", ago(days=1)))
    for n in range(in_review):
        builder.issue(f"CR-{n}", ("In Progress", ago(days=2)), ("Code Review", ago(days=1)))
    builder.issue("TODO", created=ago(days=3))
    builder.finished("DONE", ago(days=3), 1)
    return builder


def test_at_the_limit_is_fine_and_over_it_warns() -> None:
    assert detect(wip_over_limit, team(10).build(), Agreements(wip_limit=10)) == []
    [finding] = detect(wip_over_limit, team(8, 3).build(), Agreements(wip_limit=10))
    assert finding.severity is Severity.WARN
    assert finding.subject == "team"
    assert finding.title == "The team has 11 items in progress, over its WIP limit of 10"
    assert finding.evidence == {"wip_items": 11, "wip_limit_items": 10}
    assert len(finding.item_keys) == 11 and "TODO" not in finding.item_keys
    assert finding.dedupe_key == "wip_over_limit:payments:team"


def test_half_again_over_the_limit_is_critical() -> None:
    [finding] = detect(wip_over_limit, team(15).build(), Agreements(wip_limit=10))
    assert finding.severity is Severity.CRITICAL


def test_no_limit_no_finding() -> None:
    assert detect(wip_over_limit, team(50).build(), Agreements()) == []


def test_per_status_limits_match_status_names_case_insensitively() -> None:
    agreements = Agreements(wip_limits={"in progress": 5, "Code Review": 4})
    [finding] = detect(wip_over_limit, team(6, 4).build(), agreements)
    assert finding.title == "in progress holds 6 items, over its WIP limit of 5"
    assert finding.evidence["wip_items"] == 6
    assert finding.dedupe_key == "wip_over_limit:payments:status:in progress"
    assert all(key.startswith("IP-") for key in finding.item_keys)


def test_team_and_status_limits_are_reported_separately() -> None:
    agreements = Agreements(wip_limit=8, wip_limits={"Code Review": 2})
    findings = detect(wip_over_limit, team(6, 3).build(), agreements)
    assert sorted(f.dedupe_key for f in findings) == [
        "wip_over_limit:payments:status:code review",
        "wip_over_limit:payments:team",
    ]
