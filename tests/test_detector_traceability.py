"""The traceability detectors: untracked merges, unverified deployments, done but unmerged items.

Each is off unless the team's ``agreements.traceability`` names it, fires on its gap in the last
week, and stays quiet on the clean case and where the links it would judge by are unknown.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from detector_fixtures import NOW, SnapshotBuilder, ago, detect

from insights.agreements import TRACEABILITY_CHECKS, Agreements
from insights.detectors import done_unmerged, run_detectors, unverified_deployment
from insights.detectors import untracked_merge as untracked
from insights.detectors.support.ranking import MAX_ITEM_FINDINGS
from insights.findings import AUTHOR, Severity
from insights.model import Deployment, Outcome, PipelineRun, Snapshot, WorkItem

ALL_ON = Agreements(traceability=TRACEABILITY_CHECKS)
SHA = "c101" + "0" * 36
OTHER_SHA = "d100" + "0" * 36


def linked(builder: SnapshotBuilder, pr: WorkItem, *keys: str) -> WorkItem:
    """``pr`` with ``keys`` as its linked work items, in place in ``builder``."""
    changed = replace(pr, linked_keys=keys)
    builder.items[builder.items.index(pr)] = changed
    return changed


def deployment(
    number: int,
    sha: str | None,
    started: datetime,
    *,
    outcome: Outcome = Outcome.SUCCESS,
    production: bool = True,
    shipped: tuple[str, ...] = (),
) -> Deployment:
    return Deployment(
        id=f"github:deploy:acme/api/{number}",
        team="payments",
        source="github",
        environment="production" if production else "staging",
        outcome=outcome,
        finished_at=started + timedelta(minutes=10),
        started_at=started,
        sha=sha,
        repo="acme/api",
        shipped_item_ids=shipped,
        url=f"https://github.invalid/acme/api/deployments/{number}",
        production=production,
    )


def run(
    number: int, sha: str | None, started: datetime, outcome: Outcome = Outcome.SUCCESS
) -> PipelineRun:
    return PipelineRun(
        id=f"github:run:acme/api/{number}",
        team="payments",
        source="github",
        name="CI",
        branch="main",
        outcome=outcome,
        started_at=started,
        finished_at=None if outcome is Outcome.RUNNING else started + timedelta(minutes=8),
        sha=sha,
    )


def delivery(deployments: list[Deployment], runs: list[PipelineRun]) -> Snapshot:
    snapshot = SnapshotBuilder().build()
    return replace(snapshot, deployments=deployments, pipeline_runs=runs)


# --- switched on per team ------------------------------------------------------------------------


def gaps() -> Snapshot:
    """One gap of each kind."""
    builder = SnapshotBuilder()
    builder.pr(1, ago(days=3), merged=ago(days=2))
    item = builder.issue("PAY-1", ("In Progress", ago(days=3)), ("Done", ago(days=1)))
    linked(builder, builder.pr(2, ago(days=3)), item.key)
    snapshot = builder.build()
    deploy = deployment(1, SHA, ago(days=1))
    return replace(snapshot, deployments=[deploy], pipeline_runs=[run(1, OTHER_SHA, ago(days=2))])


def test_every_check_is_off_by_default() -> None:
    snapshot = gaps()
    assert Agreements().traceability == ()
    for detector in (untracked, unverified_deployment, done_unmerged):
        assert detect(detector, snapshot) == []
    assert not {f.detector for f in run_detectors(snapshot, Agreements(), NOW, UTC)} & set(
        TRACEABILITY_CHECKS
    )


@pytest.mark.parametrize("check", TRACEABILITY_CHECKS)
def test_each_check_is_switched_on_by_itself(check: str) -> None:
    findings = run_detectors(gaps(), Agreements(traceability=(check,)), NOW, UTC)
    assert {f.detector for f in findings} & set(TRACEABILITY_CHECKS) == {check}


def test_every_finding_names_its_subject_among_its_items_and_is_keyed_by_detector() -> None:
    findings = run_detectors(gaps(), ALL_ON, NOW, UTC)
    ours = [f for f in findings if f.detector in TRACEABILITY_CHECKS]
    assert sorted(f.subject for f in ours) == ["PAY-1", "acme/api#1", "acme/api@c101000"]
    for finding in ours:
        assert finding.dedupe_key.startswith(f"{finding.detector}:payments:")
        assert finding.subject in finding.item_keys
        assert finding.url is not None and finding.title and finding.action


def test_a_name_that_is_no_check_is_refused() -> None:
    with pytest.raises(ValueError, match="traceability: 'untracked' is no traceability check"):
        Agreements(traceability=("untracked",))  # type: ignore[arg-type]


# --- untracked_merge -----------------------------------------------------------------------------


def test_a_merge_without_a_linked_item_warns() -> None:
    builder = SnapshotBuilder()
    builder.issue("PAY-1", ("In Progress", ago(days=3)))
    builder.pr(1, ago(days=3), merged=ago(days=2))
    linked(builder, builder.pr(2, ago(days=3), merged=ago(days=2)), "PAY-1")

    [finding] = detect(untracked, builder.build(), ALL_ON)

    assert finding.subject == "acme/api#1"
    assert finding.severity is Severity.WARN
    assert finding.title == "acme/api#1 was merged without a linked work item"
    assert finding.action.startswith("Link it to the work item it belongs to")
    assert finding.evidence["merged_at"] == ago(days=2).isoformat()
    assert finding.evidence["unknown_linked_keys"] == ""
    assert (finding.people, finding.role) == (("ana",), AUTHOR)
    assert finding.dedupe_key == "untracked_merge:payments:acme/api#1"


def test_a_merge_linked_only_to_keys_the_team_has_no_item_for_warns() -> None:
    builder = SnapshotBuilder()
    builder.issue("PAY-1", ("In Progress", ago(days=3)))
    linked(builder, builder.pr(1, ago(days=3), merged=ago(days=2)), "OPS-9", "acme/api#2")
    builder.pr(2, ago(days=3))  # a pull request is no work item

    [finding] = detect(untracked, builder.build(), ALL_ON)

    assert finding.title == (
        "acme/api#1 was merged linked only to OPS-9, acme/api#2, which the team has no item for"
    )
    assert finding.evidence["unknown_linked_keys"] == "OPS-9, acme/api#2"


def test_bots_open_unmerged_and_old_merges_are_left_out() -> None:
    builder = SnapshotBuilder()
    builder.pr(1, ago(days=3), merged=ago(days=2), author="dependabot[bot]")
    builder.pr(2, ago(days=3), merged=ago(days=2), author="renovate")
    builder.pr(3, ago(days=3))
    builder.pr(4, ago(days=3), closed=ago(days=2))
    builder.pr(5, ago(days=12), merged=ago(days=10))
    assert detect(untracked, builder.build(), ALL_ON) == []


def test_a_merge_after_now_is_not_judged_yet() -> None:
    builder = SnapshotBuilder()
    builder.pr(1, ago(days=3), merged=ago(days=2))
    assert detect(untracked, builder.build(), ALL_ON, now=ago(days=2, hours=1)) == []


def test_many_untracked_merges_roll_up() -> None:
    builder = SnapshotBuilder()
    for number in range(1, MAX_ITEM_FINDINGS + 4):
        builder.pr(number, ago(days=3), merged=ago(days=2, hours=number / 10))
    findings = detect(untracked, builder.build(), ALL_ON)
    more = findings[-1]
    assert len(findings) == MAX_ITEM_FINDINGS + 1
    assert more.subject == "team"
    assert more.title == "3 more items were merged without a linked work item in the last 7 days"


# --- unverified_deployment -----------------------------------------------------------------------


def test_a_deployment_of_a_commit_no_run_built_warns() -> None:
    builder = SnapshotBuilder()
    pr = builder.pr(7, ago(days=3), merged=ago(days=2))
    deploy = deployment(1, SHA, ago(days=1), shipped=(pr.id,))
    snapshot = replace(
        builder.build(), deployments=[deploy], pipeline_runs=[run(1, OTHER_SHA, ago(days=2))]
    )

    [finding] = detect(unverified_deployment, snapshot, ALL_ON)

    assert finding.subject == "acme/api@c101000"
    assert finding.severity is Severity.WARN
    assert finding.title == (
        "acme/api@c101000 went to production without a passing pipeline on that commit"
    )
    assert finding.evidence["sha"] == SHA
    assert finding.evidence["deployment_id"] == "github:deploy:acme/api/1"
    assert finding.evidence["first_passed_at"] == ""
    assert finding.item_keys == ("acme/api@c101000", "acme/api#7")
    assert finding.url == "https://github.invalid/acme/api/deployments/1"
    assert finding.dedupe_key == "unverified_deployment:payments:github:deploy:acme/api/1"


def test_a_commit_built_only_after_the_deployment_started_warns() -> None:
    snapshot = delivery([deployment(1, SHA, ago(days=1))], [run(1, SHA, ago(days=1, hours=-1))])
    [finding] = detect(unverified_deployment, snapshot, ALL_ON)
    assert (
        finding.title == "acme/api@c101000 went to production before any pipeline had passed on it"
    )
    assert (
        finding.evidence["first_passed_at"]
        == (ago(days=1, hours=-1) + timedelta(minutes=8)).isoformat()
    )


def test_failed_and_running_builds_do_not_verify_a_commit() -> None:
    runs = [run(1, SHA, ago(days=2), Outcome.FAILURE), run(2, SHA, ago(days=2), Outcome.RUNNING)]
    snapshot = delivery([deployment(1, SHA, ago(days=1))], runs)
    assert [f.subject for f in detect(unverified_deployment, snapshot, ALL_ON)] == [
        "acme/api@c101000"
    ]


def test_a_commit_built_before_the_deployment_is_verified() -> None:
    runs = [run(1, SHA, ago(days=2), Outcome.FAILURE), run(2, SHA, ago(days=1, hours=2))]
    snapshot = delivery([deployment(1, SHA, ago(days=1))], runs)
    assert detect(unverified_deployment, snapshot, ALL_ON) == []


def test_without_a_start_the_finish_of_the_deployment_bounds_the_build() -> None:
    deploy = deployment(1, SHA, ago(days=1))  # finished 10 minutes after it started
    built_between = [run(1, SHA, ago(days=1))]  # passed 8 minutes after the deployment started
    assert len(detect(unverified_deployment, delivery([deploy], built_between), ALL_ON)) == 1
    no_start = replace(deploy, started_at=None)
    assert detect(unverified_deployment, delivery([no_start], built_between), ALL_ON) == []


def test_unknown_commits_are_not_evidence() -> None:
    no_sha = delivery([deployment(1, None, ago(days=1))], [run(1, OTHER_SHA, ago(days=2))])
    runs_without_sha = delivery([deployment(1, SHA, ago(days=1))], [run(1, None, ago(days=2))])
    no_runs = delivery([deployment(1, SHA, ago(days=1))], [])
    for snapshot in (no_sha, runs_without_sha, no_runs):
        assert detect(unverified_deployment, snapshot, ALL_ON) == []


def test_only_successful_production_deployments_of_the_last_week_are_judged() -> None:
    deployments = [
        deployment(1, SHA, ago(days=1), production=False),
        deployment(2, SHA, ago(days=1), outcome=Outcome.FAILURE),
        deployment(3, SHA, ago(days=9)),
        deployment(4, SHA, ago(hours=-2)),  # after now: a report as of the past
    ]
    snapshot = delivery(deployments, [run(1, OTHER_SHA, ago(days=2))])
    assert detect(unverified_deployment, snapshot, ALL_ON) == []


# --- done_unmerged -------------------------------------------------------------------------------


def test_an_item_done_with_its_pull_request_still_open_warns() -> None:
    builder = SnapshotBuilder()
    item = builder.issue("PAY-1", ("In Progress", ago(days=3)), ("Done", ago(days=1)))
    linked(builder, builder.pr(1, ago(days=3)), "PAY-1")

    [finding] = detect(done_unmerged, builder.build(), ALL_ON)

    assert finding.subject == "PAY-1"
    assert finding.severity is Severity.WARN
    assert finding.title == "PAY-1 is done, but its pull request acme/api#1 never merged"
    assert finding.action == "Reopen it, or merge or close the PR."
    assert finding.evidence["done_at"] == ago(days=1).isoformat()
    assert finding.evidence["open_pull_requests"] == 1
    assert finding.item_keys == ("PAY-1", "acme/api#1")
    assert finding.people == (item.assignee,)


def test_an_item_done_whose_pull_requests_were_all_closed_unmerged_warns() -> None:
    builder = SnapshotBuilder()
    builder.issue("PAY-1", ("In Progress", ago(days=3)), ("Done", ago(days=1)))
    linked(builder, builder.pr(1, ago(days=3), closed=ago(days=2)), "PAY-1")
    linked(builder, builder.pr(2, ago(days=3), closed=ago(days=2)), "OPS-1", "PAY-1")

    [finding] = detect(done_unmerged, builder.build(), ALL_ON)

    assert (
        finding.title
        == "PAY-1 is done, but none of its 2 pull requests merged (acme/api#1, acme/api#2)"
    )
    assert finding.action == "Reopen it, or link the pull request that did merge its change."
    assert finding.evidence["closed_unmerged_pull_requests"] == 2


def test_one_merged_pull_request_is_enough() -> None:
    builder = SnapshotBuilder()
    builder.issue("PAY-1", ("In Progress", ago(days=3)), ("Done", ago(days=1)))
    linked(builder, builder.pr(1, ago(days=3), closed=ago(days=2)), "PAY-1")
    linked(builder, builder.pr(2, ago(days=3), merged=ago(days=2)), "PAY-1")
    assert detect(done_unmerged, builder.build(), ALL_ON) == []


def test_items_without_pull_requests_cancelled_old_or_unfinished_are_left_out() -> None:
    builder = SnapshotBuilder()
    builder.issue("PAY-1", ("In Progress", ago(days=3)), ("Done", ago(days=1)))  # no PR
    builder.issue("PAY-2", ("In Progress", ago(days=3)), ("Won't Do", ago(days=1)))
    builder.issue("PAY-3", ("In Progress", ago(days=12)), ("Done", ago(days=10)))
    builder.issue("PAY-4", ("In Progress", ago(days=3)))
    for number, key in enumerate(("PAY-2", "PAY-3", "PAY-4"), 1):
        linked(builder, builder.pr(number, ago(days=3)), key)
    assert detect(done_unmerged, builder.build(), ALL_ON) == []


def test_a_pull_request_merged_after_now_had_not_merged() -> None:
    builder = SnapshotBuilder()
    builder.issue("PAY-1", ("In Progress", ago(days=3)), ("Done", ago(days=1)))
    linked(builder, builder.pr(1, ago(days=3), merged=ago(hours=-5)), "PAY-1")
    [finding] = detect(done_unmerged, builder.build(), ALL_ON)
    assert finding.evidence["open_pull_requests"] == 1
