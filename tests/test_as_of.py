"""Reports of the past see the data as it was then: :mod:`insights.as_of` and its use."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, timedelta

from insights.agreements import Agreements
from insights.as_of import incident_as_of, run_as_of, snapshot_as_of
from insights.model import (
    Deployment,
    Incident,
    ItemKind,
    Outcome,
    PipelineRun,
    ReviewState,
    Snapshot,
    Stage,
    Transition,
    WorkItem,
)
from insights.report import build_digest, build_report
from tests.detector_fixtures import NOW, SnapshotBuilder, ago

THEN = ago(days=10)


def items_by_key(snapshot: Snapshot) -> dict[str, WorkItem]:
    return {item.key: item for item in snapshot.items}


def test_an_item_done_after_the_instant_is_in_progress_in_the_report_as_of_then() -> None:
    builder = SnapshotBuilder()
    builder.issue("PAY-1", ("In Progress", ago(days=15)), ("Done", ago(days=3)))
    builder.issue("PAY-2", ("In Progress", ago(days=15)), ("Done", ago(days=12)))

    report = build_report(builder.build(), Agreements(), THEN, UTC)

    assert report.metrics["wip"] == 1
    assert report.metric_items["wip"] == ("PAY-1",)
    assert report.metric_items["throughput_items"] == ("PAY-2",)
    facts = {f.key: f for f in report.items}
    assert (facts["PAY-1"].status, facts["PAY-1"].stage) == ("In Progress", "active")
    assert facts["PAY-1"].finished_at is None
    assert facts["PAY-1"].age_seconds == timedelta(days=5).total_seconds()


def test_items_created_after_the_instant_are_not_in_the_report_as_of_then() -> None:
    builder = SnapshotBuilder()
    builder.issue("PAY-1", ("In Progress", ago(days=15)))
    builder.issue(
        "PAY-2", ("In Progress", THEN + timedelta(hours=3)), created=THEN + timedelta(hours=2)
    )

    report = build_report(builder.build(), Agreements(), THEN, UTC)

    assert [f.key for f in report.items] == ["PAY-1"]
    assert report.daily[-1].wip == report.metrics["wip"] == 1
    assert report.daily[-1].cfd["In Progress"] == 1


def test_a_digest_as_of_the_past_names_items_in_their_status_then() -> None:
    builder = SnapshotBuilder()
    builder.issue(
        "PAY-1", ("In Progress", ago(days=40)), ("Blocked", ago(days=20)), ("Done", ago(days=2))
    )

    digest = build_digest(builder.build(), Agreements(), THEN, UTC)

    assert [(line.key, line.status) for line in digest.blocked] == [("PAY-1", "Blocked")]
    assert digest.wip == 1


def test_status_stage_and_dates_are_those_of_the_instant() -> None:
    builder = SnapshotBuilder()
    builder.issue(
        "PAY-1",
        ("In Progress", ago(days=20)),
        ("Done", ago(days=15)),
        ("In Progress", ago(days=5)),
        ("Done", ago(days=2)),
        flags=[(ago(days=18), True), (ago(days=4), False)],
    )
    builder.issue("PAY-2", ("In Progress", ago(days=5)), created=ago(days=30))
    builder.issue("PAY-3", created=ago(days=5))

    past = snapshot_as_of(builder.build(), THEN)

    done, waiting = items_by_key(past)["PAY-1"], items_by_key(past)["PAY-2"]
    assert (done.status, done.stage, done.resolved_at) == ("Done", Stage.DONE, ago(days=15))
    assert done.updated_at == ago(days=15)
    assert [t.at for t in past.transitions[done.id]] == [ago(days=20), ago(days=15)]
    assert [f.flagged for f in past.flags[done.id]] == [True]
    assert (waiting.status, waiting.stage, waiting.resolved_at) == ("Backlog", Stage.BACKLOG, None)
    assert waiting.updated_at == waiting.created_at
    assert list(past.transitions[waiting.id]) == []
    assert "PAY-3" not in items_by_key(past)


def test_an_item_reopened_after_the_instant_was_resolved_when_it_entered_done() -> None:
    builder = SnapshotBuilder()
    item = builder.issue("PAY-1", ("In Progress", ago(days=20)), ("Done", ago(days=15)))
    builder.items[0] = replace(item, resolved_at=None, status="In Progress", stage=Stage.ACTIVE)
    builder.transitions[item.id].append(
        Transition(item.id, ago(days=5), "Done", "In Progress", Stage.DONE, Stage.ACTIVE)
    )

    past = snapshot_as_of(builder.build(), THEN)

    assert past.items[0].stage is Stage.DONE and past.items[0].resolved_at == ago(days=15)


def test_an_item_without_history_finished_later_was_in_progress_since_created() -> None:
    done = WorkItem(
        id="csv:issue:A",
        team="payments",
        source="csv",
        key="A",
        kind=ItemKind.ISSUE,
        type="Story",
        title="A",
        status="Done",
        stage=Stage.DONE,
        created_at=ago(days=20),
        updated_at=ago(days=2),
        resolved_at=ago(days=3),
    )
    cancelled = replace(done, id="csv:issue:B", key="B", status="Dropped", stage=Stage.CANCELLED)
    kept = replace(done, id="csv:issue:C", key="C", resolved_at=ago(days=11))
    snapshot = Snapshot("payments", [done, cancelled, kept], {}, {}, {})

    past = items_by_key(snapshot_as_of(snapshot, THEN))

    assert (past["A"].stage, past["A"].resolved_at) == (Stage.ACTIVE, None)
    assert (past["B"].stage, past["B"].resolved_at) == (Stage.BACKLOG, None)
    assert past["C"].stage is Stage.DONE and past["C"].resolved_at == ago(days=11)
    assert past["A"].updated_at == past["A"].created_at
    report = build_report(snapshot, Agreements(), THEN, UTC)
    assert report.metric_items["wip"] == ("A",)


def test_a_pull_request_is_open_and_a_draft_until_readied_and_merged() -> None:
    builder = SnapshotBuilder()
    pr = builder.pr(
        7,
        ago(days=20),
        (ago(days=15), ReviewState.APPROVED, "bo"),
        (ago(days=4), ReviewState.READY_FOR_REVIEW, None),
        merged=ago(days=3),
    )
    builder.items[0] = replace(pr, merge_sha="abc")
    untouched = builder.pr(8, ago(days=20), draft=True)

    past = snapshot_as_of(builder.build(), THEN)

    then = items_by_key(past)["acme/api#7"]
    assert (then.stage, then.status, then.merged_at, then.resolved_at) == (
        Stage.ACTIVE,
        "open",
        None,
        None,
    )
    assert then.draft and then.merge_sha is None
    assert [e.state for e in past.reviews[then.id]] == [ReviewState.APPROVED]
    assert items_by_key(past)["acme/api#8"] is untouched


def test_removed_items_exist_until_their_removal() -> None:
    builder = SnapshotBuilder()
    early = builder.issue("PAY-1", ("In Progress", ago(days=20)))
    late = builder.issue("PAY-2", ("In Progress", ago(days=20)))
    builder.items = [replace(early, removed_at=ago(days=12)), replace(late, removed_at=ago(days=8))]
    snapshot = builder.build()

    assert [(i.key, i.removed_at) for i in snapshot_as_of(snapshot, THEN).items] == [
        ("PAY-2", None)
    ]
    assert snapshot_as_of(snapshot, NOW).items == []


def test_deliveries_are_as_they_were() -> None:
    deployment = Deployment(
        id="d1",
        team="payments",
        source="test",
        environment="production",
        outcome=Outcome.SUCCESS,
        finished_at=ago(days=9),
        production=True,
    )
    incident = Incident(
        id="i1",
        team="payments",
        source="test",
        title="Down",
        created_at=ago(days=11),
        acknowledged_at=ago(days=10),
        resolved_at=ago(days=9),
    )
    run = PipelineRun(
        id="r1",
        team="payments",
        source="test",
        name="ci",
        branch="main",
        outcome=Outcome.FAILURE,
        started_at=ago(days=9),
        finished_at=ago(days=8),
        created_at=ago(days=11),
    )
    snapshot = Snapshot("payments", [], {}, {}, {}, [deployment], [run], [incident])

    past = snapshot_as_of(snapshot, THEN)

    assert past.deployments == []
    assert past.incidents == [replace(incident, resolved_at=None)]
    assert past.pipeline_runs == [
        replace(run, started_at=ago(days=11), finished_at=None, outcome=Outcome.RUNNING)
    ]
    assert incident_as_of(incident, ago(days=12)) is None
    assert run_as_of(run, ago(days=12)) is None
    assert run_as_of(run, ago(days=8, hours=12)) == replace(
        run, finished_at=None, outcome=Outcome.RUNNING
    )
    assert incident_as_of(incident, ago(days=9)) is incident
    assert run_as_of(run, ago(days=8)) is run


def test_before_a_history_that_does_not_name_the_first_status_an_item_is_not_started() -> None:
    builder = SnapshotBuilder()
    item = builder.issue("PAY-1", ("In Progress", ago(days=5)), created=ago(days=30))
    first = builder.transitions[item.id][0]
    builder.transitions[item.id][0] = replace(first, from_status=None, from_stage=None)

    past = snapshot_as_of(builder.build(), THEN)

    assert (past.items[0].status, past.items[0].stage) == ("In Progress", Stage.BACKLOG)
    assert build_report(builder.build(), Agreements(), THEN, UTC).metrics["wip"] == 0
