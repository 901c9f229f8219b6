"""One item's journey across tools (insights.trace): its events in order, its steps and waits."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import pytest

from insights.model import Deployment, Incident, Outcome, ReviewState, Snapshot, WorkItem
from insights.stream_events import (
    APPROVED,
    COMMITTED,
    CREATED,
    DEPLOYED,
    DONE,
    FIRST_REVIEW,
    MERGED,
    PR_OPENED,
)
from insights.trace import (
    BACKWARDS,
    NO_PR,
    NOT_YET,
    BlockingItem,
    MissingStep,
    project_teams,
    span_cost,
    trace_item,
)
from insights.value_stream import StreamStep
from tests.detector_fixtures import NOW, SnapshotBuilder, ago

DAY = 86400.0
STEPS = (
    StreamStep("Backlog", CREATED, COMMITTED),
    StreamStep("In progress", "status:In Progress", PR_OPENED),
    StreamStep("Waiting for review", PR_OPENED, FIRST_REVIEW),
    StreamStep("Review", FIRST_REVIEW, APPROVED),
    StreamStep("Waiting to merge", APPROVED, MERGED),
    StreamStep("Release", MERGED, DEPLOYED),
    StreamStep("Verification", DEPLOYED, DONE),
)
DEPLOY_ID = "github:deploy:acme/api/41"


def linked(builder: SnapshotBuilder, pr: WorkItem, *keys: str) -> WorkItem:
    """``pr`` linked to ``keys`` (the builder's pull requests link nothing)."""
    pr_linked = replace(pr, linked_keys=keys)
    builder.items[builder.items.index(pr)] = pr_linked
    return pr_linked


def shipped(snapshot: Snapshot, *deployments: Deployment, incidents=()) -> Snapshot:
    return replace(snapshot, deployments=deployments, incidents=tuple(incidents))


def deployment(native: int, finished_days_ago: float, *prs: WorkItem) -> Deployment:
    return Deployment(
        id=f"github:deploy:acme/api/{native}",
        team="payments",
        source="github",
        environment="production",
        outcome=Outcome.SUCCESS,
        started_at=ago(finished_days_ago + 0.1),
        finished_at=ago(finished_days_ago),
        shipped_item_ids=tuple(pr.id for pr in prs),
        url=f"https://git.invalid/acme/api/deployments/{native}",
        production=True,
    )


def journey() -> Snapshot:
    """PAY-1 from creation to done: flagged once, one reviewed pull request shipped, an incident."""
    builder = SnapshotBuilder()
    builder.issue(
        "PAY-1",
        ("Selected", ago(9)),
        ("In Progress", ago(8)),
        ("Code Review", ago(6)),
        ("Ready for QA", ago(4.4)),
        ("QA", ago(3.5)),
        ("Done", ago(3)),
        created=ago(10),
        flags=[(ago(7.5), True), (ago(7), False)],
    )
    pr = builder.pr(
        7,
        ago(6.5),
        (ago(6.4), ReviewState.REQUESTED, "ben"),
        (ago(6.3), ReviewState.COMMENTED, "dependabot[bot]"),
        (ago(6.2), ReviewState.COMMENTED, "ana"),  # the author
        (ago(5.95), ReviewState.COMMENTED, "ben"),
        (ago(5.5), ReviewState.CHANGES_REQUESTED, "ben"),
        (ago(5), ReviewState.APPROVED, "ben"),
        merged=ago(4.5),
    )
    pr = linked(builder, pr, "PAY-1")
    incident = Incident(
        id="pagerduty:incident:Q1",
        team="payments",
        source="pagerduty",
        title="Payout batch stuck",
        created_at=ago(3.8),
        url="https://pd.invalid/incidents/Q1",
        deployment_id=DEPLOY_ID,
    )
    return shipped(builder.build(), deployment(41, 4, pr), incidents=[incident])


def test_every_event_kind_appears_in_order_in_plain_words() -> None:
    trace = trace_item(journey(), "PAY-1", STEPS, NOW)

    assert trace is not None
    assert [(e.event, e.label) for e in trace.events] == [
        ("created", "Created"),
        ("status:Selected", "Entered Selected"),
        ("committed", "Committed: the team took it on"),
        ("status:In Progress", "Entered In Progress"),
        ("flagged", "Flagged"),
        ("unflagged", "Unflagged"),
        ("pr_opened", "acme/api#7 opened by ana"),
        ("review_requested", "review requested from ben"),
        ("status:Code Review", "Entered Code Review"),
        ("commented", "reviewed by ben (comments)"),  # the bot's and the author's left out
        ("changes_requested", "changes requested by ben"),
        ("approved", "approved by ben"),
        ("merged", "merged"),
        ("status:Ready for QA", "Entered Ready for QA"),
        ("deployed", "deployed to production (deploy 41)"),
        ("incident", "incident: Payout batch stuck"),
        ("status:QA", "Entered QA"),
        ("status:Done", "Entered Done"),
        ("done", "Done"),
    ]
    assert [e.at for e in trace.events] == sorted(e.at for e in trace.events)
    sources = {e.event: (e.source, e.url, e.subject) for e in trace.events}
    assert sources["merged"] == ("test", "https://git.invalid/acme/api/pull/7", "acme/api#7")
    assert sources["deployed"] == (
        "github",
        "https://git.invalid/acme/api/deployments/41",
        "deploy 41",
    )
    assert sources["incident"][:2] == ("pagerduty", "https://pd.invalid/incidents/Q1")


def test_each_step_is_measured_with_its_waits() -> None:
    trace = trace_item(journey(), "PAY-1", STEPS, NOW)

    assert trace is not None
    got = {
        s.name: (round(s.lead_seconds / DAY, 3), round(s.process_seconds / DAY, 3), s.waiting)
        for s in trace.spans
    }
    assert got == {
        "Backlog": (1.0, 0.0, True),  # in the backlog: nobody works on it
        "In progress": (1.5, 1.0, False),  # active, minus the half day it was flagged
        "Waiting for review": (0.55, 0.0, True),  # to ben's comment, not the bot's or author's
        "Review": (0.95, 0.95, False),
        "Waiting to merge": (0.5, 0.0, True),
        "Release": (0.5, 0.1, True),  # the deployment itself ran 0.1 day
        "Verification": (1.0, 0.5, False),  # waiting for QA, then half a day in QA
    }
    assert [s.name for s in trace.spans] == [s.name for s in STEPS]
    assert trace.missing_steps == ()
    assert trace.lead_seconds == pytest.approx(7 * DAY)  # creation to done
    assert trace.process_seconds == pytest.approx(2.55 * DAY)
    assert trace.biggest_wait is not None and trace.biggest_wait.name == "Backlog"
    assert trace.finished and trace.open_span is None
    assert span_cost(trace.spans[1]) == "36 hours (work 24 hours)"
    assert span_cost(trace.spans[0]) == "waiting 24 hours"


def test_an_item_without_a_pull_request_skips_the_code_steps() -> None:
    builder = SnapshotBuilder()
    builder.issue("PAY-2", ("In Progress", ago(5)), ("Done", ago(2)), created=ago(6))
    other = builder.pr(3, ago(4), merged=ago(3))
    linked(builder, other, "PAY-99")  # linked elsewhere: not PAY-2's
    trace = trace_item(builder.build(), "PAY-2", STEPS, NOW)

    assert trace is not None
    assert [(s.name, s.lead_seconds / DAY) for s in trace.spans] == [("Backlog", 1.0)]
    assert trace.missing_steps == tuple(MissingStep(s.name, NO_PR) for s in STEPS[1:])
    assert trace.lead_seconds == 1.0 * DAY
    assert not any(e.event in {PR_OPENED, MERGED, DEPLOYED} for e in trace.events)


def test_several_pull_requests_span_from_the_first_opened_to_the_last_merged() -> None:
    builder = SnapshotBuilder()
    builder.issue("PAY-3", ("In Progress", ago(9)), ("Done", ago(1)), created=ago(10))
    first = linked(
        builder,
        builder.pr(1, ago(8), (ago(7), ReviewState.APPROVED, "ben"), merged=ago(6.5)),
        "PAY-3",
    )
    second = linked(
        builder,
        builder.pr(2, ago(5), (ago(4), ReviewState.APPROVED, "cy"), merged=ago(3)),
        "PAY-3",
    )
    closed = linked(builder, builder.pr(9, ago(7.5), closed=ago(7.2)), "PAY-3")
    snapshot = shipped(builder.build(), deployment(40, 6, first), deployment(42, 2, second))
    coding = StreamStep("Coding", PR_OPENED, MERGED)
    trace = trace_item(snapshot, "pay-3", (coding, StreamStep("Release", MERGED, DEPLOYED)), NOW)

    assert trace is not None and trace.key == "PAY-3"
    spans = {s.name: s for s in trace.spans}
    assert (spans["Coding"].start, spans["Coding"].end) == (first.created_at, second.merged_at)
    assert (spans["Release"].start, spans["Release"].end) == (ago(3), ago(2))
    labels = [e.label for e in trace.events if e.event in {PR_OPENED, MERGED, DEPLOYED}]
    assert labels == [
        "acme/api#1 opened by ana",
        "acme/api#9 opened by ana",
        "acme/api#1 merged",
        "deployed to production (deploy 40) with acme/api#1",
        "acme/api#2 opened by ana",
        "acme/api#2 merged",
        "deployed to production (deploy 42) with acme/api#2",
    ]
    assert "acme/api#9 closed unmerged" in [e.label for e in trace.events]
    assert closed.id not in {d for dep in snapshot.deployments for d in dep.shipped_item_ids}


def test_an_unfinished_item_is_in_its_open_step_up_to_now() -> None:
    builder = SnapshotBuilder()
    builder.issue(
        "PAY-4",
        ("Selected", ago(6)),
        ("In Progress", ago(4)),
        ("Blocked", ago(1)),
        created=ago(7),
    )
    trace = trace_item(builder.build(), "PAY-4", STEPS, NOW)

    assert trace is not None and not trace.finished
    assert [(s.name, s.end) for s in trace.spans] == [("Backlog", ago(6)), ("In progress", None)]
    open_span = trace.open_span
    assert open_span is not None and open_span.name == "In progress"
    assert open_span.lead_seconds == pytest.approx(4 * DAY)
    assert open_span.process_seconds == pytest.approx(3 * DAY)  # blocked for the last day
    assert span_cost(open_span) == "4 days so far (work 3 days)"
    assert trace.lead_seconds == pytest.approx(7 * DAY)  # creation to now
    assert {m.name: m.reason for m in trace.missing_steps}["Verification"] == NO_PR
    assert trace.status == "Blocked"


def test_a_cancelled_item_ends_its_journey_where_it_was_cancelled() -> None:
    builder = SnapshotBuilder()
    builder.issue("PAY-9", ("Won't Do", ago(50)), created=ago(57))
    trace = trace_item(builder.build(), "PAY-9", STEPS, NOW)

    assert trace is not None and trace.finished and trace.open_span is None
    assert trace.cancelled_at == ago(50)
    [backlog] = trace.spans
    assert (backlog.name, backlog.end) == ("Backlog", ago(50))
    assert backlog.lead_seconds == pytest.approx(7 * DAY)  # not the 57 days to now
    assert span_cost(backlog) == "waiting 7 days"
    assert trace.lead_seconds == pytest.approx(7 * DAY)


def test_steps_after_the_open_one_are_not_reached_yet() -> None:
    builder = SnapshotBuilder()
    builder.issue("PAY-5", ("In Progress", ago(4)), created=ago(5))
    linked(builder, builder.pr(5, ago(2)), "PAY-5")
    trace = trace_item(builder.build(), "PAY-5", STEPS, NOW)

    assert trace is not None
    assert trace.open_span is not None and trace.open_span.name == "Waiting for review"
    assert trace.open_span.process_seconds == 0.0 and trace.open_span.waiting
    reasons = {m.name: m.reason for m in trace.missing_steps}
    later = ["Review", "Waiting to merge", "Release", "Verification"]
    assert reasons == dict.fromkeys(later, NOT_YET)


def test_a_step_that_runs_backwards_is_missing_and_says_so() -> None:
    builder = SnapshotBuilder()
    builder.issue("PAY-6", ("In Progress", ago(2)), ("Done", ago(1)), created=ago(3))
    linked(builder, builder.pr(6, ago(5), merged=ago(4)), "PAY-6")  # opened before started
    trace = trace_item(builder.build(), "PAY-6", STEPS, NOW)

    assert trace is not None
    assert MissingStep("In progress", BACKWARDS) in trace.missing_steps


def test_blocked_by_another_teams_item_names_that_team() -> None:
    builder = SnapshotBuilder()
    builder.issue("PAY-8", ("In Progress", ago(2)), created=ago(3))
    builder.issue("PAY-7", ("In Progress", ago(5)), blocked_by=["OPS-3", "PAY-8"])
    teams = project_teams(
        [
            SimpleNamespace(name="payments", projects=("PAY",)),
            SimpleNamespace(name="ops", projects=("OPS", "PAY")),  # PAY stays payments'
        ]
    )
    trace = trace_item(builder.build(), "PAY-7", STEPS, NOW, teams_by_project=teams)

    assert teams == {"PAY": "payments", "OPS": "ops"}
    assert trace is not None
    assert trace.blocked_by == (
        BlockingItem("OPS-3", "ops", None, None),
        BlockingItem("PAY-8", "payments", "In Progress", "https://tracker.invalid/browse/PAY-8"),
    )
    nobody = trace_item(builder.build(), "PAY-7", STEPS, NOW)
    assert nobody is not None and nobody.blocked_by[0] == BlockingItem("OPS-3", None, None, None)


def test_a_pull_request_key_traces_its_linked_item_and_unknown_keys_trace_nothing() -> None:
    builder = SnapshotBuilder()
    builder.issue("PAY-9", ("In Progress", ago(2)), created=ago(3))
    linked(builder, builder.pr(11, ago(1)), "NOPE-1", "PAY-9")
    builder.pr(12, ago(1))  # linked to nothing
    snapshot = builder.build()

    by_pr = trace_item(snapshot, "ACME/API#11", STEPS, NOW)
    assert by_pr is not None and by_pr.key == "PAY-9"
    assert trace_item(snapshot, "acme/api#12", STEPS, NOW) is None
    assert trace_item(snapshot, "PAY-404", STEPS, NOW) is None
    removed = replace(snapshot, items=[replace(i, removed_at=ago(0.5)) for i in snapshot.items])
    assert trace_item(removed, "PAY-9", STEPS, NOW) is None


def test_nothing_after_now_is_in_the_journey() -> None:
    snapshot = journey()
    now = ago(4.6)  # after the approval, before the merge
    trace = trace_item(snapshot, "PAY-1", STEPS, now)

    assert trace is not None and trace.now == now
    assert all(e.at <= now for e in trace.events)
    assert trace.events[-1].event == APPROVED
    assert trace.open_span is not None and trace.open_span.name == "Waiting to merge"
    assert trace.open_span.lead_seconds == pytest.approx(0.4 * DAY)


def test_an_item_with_nothing_but_its_creation_has_one_event() -> None:
    builder = SnapshotBuilder()
    builder.issue("PAY-10", created=ago(2))
    trace = trace_item(builder.build(), "PAY-10", STEPS, NOW)

    assert trace is not None
    assert [e.event for e in trace.events] == [CREATED]
    assert [(s.name, s.end, s.lead_seconds) for s in trace.spans] == [("Backlog", None, 2 * DAY)]
    assert trace.biggest_wait is trace.spans[0]
    assert len(trace.missing_steps) == len(STEPS) - 1
