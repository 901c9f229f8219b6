"""The value stream map (METRICS.md 6): each event, each step's times, %C&A, stream, hotspot."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from insights.metrics.flow_items import item_timelines
from insights.model import (
    Deployment,
    Incident,
    Outcome,
    ReviewState,
    Snapshot,
    Stage,
    WorkItem,
)
from insights.stream_events import (
    APPROVED,
    COMMITTED,
    CREATED,
    DEPLOYED,
    DONE,
    FIRST_REVIEW,
    INCIDENT,
    MERGED,
    PR_OPENED,
    StreamLinks,
    item_events,
    status_event,
)
from insights.value_stream import (
    PROCESS_PART,
    WAIT_PART,
    StreamStep,
    ValueStreamMap,
    default_steps,
    resolve_steps,
    value_stream_map,
    workflow_of,
)
from tests.detector_fixtures import WORKFLOW, SnapshotBuilder, ago

DAY = 86400.0
HOUR = 3600.0
START, END = ago(days=30), ago()
IN_PROGRESS, CODE_REVIEW, QA = (status_event(s) for s in ("In Progress", "Code Review", "QA"))
DEMO_WORKFLOW = [
    ("Backlog", Stage.BACKLOG),
    ("Selected for Development", Stage.WAITING),
    ("In Progress", Stage.ACTIVE),
    ("Code Review", Stage.ACTIVE),
    ("Ready for QA", Stage.WAITING),
    ("QA", Stage.ACTIVE),
    ("Blocked", Stage.BLOCKED),
    ("Done", Stage.DONE),
    ("Won't Do", Stage.CANCELLED),
]


def link(builder: SnapshotBuilder, pr: WorkItem, *keys: str) -> WorkItem:
    """``pr`` naming ``keys`` (the builder makes unlinked pull requests)."""
    linked = replace(pr, linked_keys=keys)
    builder.items[builder.items.index(pr)] = linked
    return linked


def deployment(
    n: int,
    finished: datetime,
    *shipped: WorkItem,
    started: datetime | None = None,
    outcome: Outcome = Outcome.SUCCESS,
    production: bool = True,
) -> Deployment:
    return Deployment(
        id=f"test:deploy:{n}",
        team="payments",
        source="test",
        environment="production" if production else "staging",
        outcome=outcome,
        finished_at=finished,
        started_at=started,
        shipped_item_ids=tuple(pr.id for pr in shipped),
        production=production,
    )


def events_of(snapshot: Snapshot, key: str, now: datetime = END):
    timeline = next(t for t in item_timelines(snapshot) if t.item.key == key)
    return item_events(timeline, StreamLinks.of(snapshot, now))


def mapped(
    snapshot: Snapshot,
    steps: list[StreamStep] | tuple[StreamStep, ...],
    start: datetime = START,
    end: datetime = END,
) -> ValueStreamMap:
    return value_stream_map(snapshot, item_timelines(snapshot), steps, start, end)


def stats_of(stream: ValueStreamMap, name: str):
    return next(s for s in stream.steps if s.step.name == name)


def walk(builder: SnapshotBuilder, key: str, first: datetime, *hours: tuple[str, float]):
    """An issue moving into each status the given hours after ``first``."""
    return builder.issue(key, *((s, first + timedelta(hours=h)) for s, h in hours))


# --- events ---------------------------------------------------------------------------------------


def test_created_committed_and_each_status_first_entry() -> None:
    builder = SnapshotBuilder()
    t0 = ago(days=10)
    walk(
        builder,
        "E-1",
        t0,
        ("Selected", 0),
        ("In Progress", 5),
        ("QA", 20),
        ("In Progress", 30),
        ("QA", 40),
        ("Done", 50),
    )
    events = events_of(builder.build(), "E-1")

    assert events.get(CREATED) == t0 - timedelta(hours=1)
    assert events.get(COMMITTED) == t0  # Selected is a waiting stage: committed
    assert events.get(IN_PROGRESS) == t0 + timedelta(hours=5)  # the first entry
    assert events.get(QA) == t0 + timedelta(hours=20)
    assert [s for s, _ in events.entries].count("In Progress") == 2  # re-entries kept for rework
    assert events.get(DONE) == t0 + timedelta(hours=50)
    assert events.get(status_event("in progress")) == t0 + timedelta(hours=5)  # any case
    assert events.get(PR_OPENED) is None and not events.pull_requests


def test_committed_skips_the_backlog_and_done_is_the_final_finish() -> None:
    builder = SnapshotBuilder()
    t0 = ago(days=10)
    walk(builder, "E-2", t0, ("In Progress", 0), ("Done", 5), ("In Progress", 6), ("Done", 9))
    events = events_of(builder.build(), "E-2")

    assert events.get(COMMITTED) == t0
    assert events.get(DONE) == t0 + timedelta(hours=9)  # reopened: the first Done was wiped


def test_pr_opened_counts_a_draft_from_ready_for_review_and_ignores_a_draft_still_open() -> None:
    builder = SnapshotBuilder()
    t0 = ago(days=10)
    walk(builder, "E-3", t0, ("In Progress", 0), ("Done", 100))
    drafted = builder.pr(
        1, t0 + timedelta(hours=2), (t0 + timedelta(hours=8), ReviewState.READY_FOR_REVIEW, None)
    )
    still_draft = builder.pr(2, t0 + timedelta(hours=1), draft=True)
    link(builder, drafted, "E-3")
    link(builder, still_draft, "E-3")
    events = events_of(builder.build(), "E-3")

    assert events.get(PR_OPENED) == t0 + timedelta(hours=8)
    assert len(events.pull_requests) == 2


def test_first_review_ignores_the_author_and_bots() -> None:
    builder = SnapshotBuilder()
    t0 = ago(days=10)
    walk(builder, "E-4", t0, ("In Progress", 0), ("Done", 100))
    pr = builder.pr(
        1,
        t0 + timedelta(hours=1),
        (t0 + timedelta(hours=2), ReviewState.COMMENTED, "ana"),  # the author
        (t0 + timedelta(hours=3), ReviewState.COMMENTED, "renovate[bot]"),
        (t0 + timedelta(hours=4), ReviewState.REQUESTED, "ben"),  # asked, not a review
        (t0 + timedelta(hours=6), ReviewState.COMMENTED, "ben"),
        author="ana",
    )
    link(builder, pr, "E-4")

    assert events_of(builder.build(), "E-4").get(FIRST_REVIEW) == t0 + timedelta(hours=6)


def test_approved_is_the_last_approval_before_the_last_merge_across_pull_requests() -> None:
    builder = SnapshotBuilder()
    t0 = ago(days=10)
    walk(builder, "E-5", t0, ("In Progress", 0), ("Done", 100))
    first = builder.pr(
        1,
        t0 + timedelta(hours=1),
        (t0 + timedelta(hours=2), ReviewState.APPROVED, "ben"),
        merged=t0 + timedelta(hours=3),
    )
    second = builder.pr(
        2,
        t0 + timedelta(hours=10),
        (t0 + timedelta(hours=11), ReviewState.CHANGES_REQUESTED, "ben"),
        (t0 + timedelta(hours=12), ReviewState.APPROVED, "ben"),
        (t0 + timedelta(hours=15), ReviewState.APPROVED, "chen"),  # after the merge
        merged=t0 + timedelta(hours=14),
    )
    link(builder, first, "E-5")
    link(builder, second, "E-5")
    events = events_of(builder.build(), "E-5")

    assert events.get(PR_OPENED) == t0 + timedelta(hours=1)  # the first opened
    assert events.get(FIRST_REVIEW) == t0 + timedelta(hours=2)
    assert events.get(APPROVED) == t0 + timedelta(hours=12)
    assert events.get(MERGED) == t0 + timedelta(hours=14)  # the last merged
    assert events.changes_requested


def test_deployed_is_the_first_production_success_shipping_the_last_merge_and_its_incident() -> (
    None
):
    builder = SnapshotBuilder()
    t0 = ago(days=10)
    walk(builder, "E-6", t0, ("In Progress", 0), ("Done", 100))
    early = link(builder, builder.pr(1, t0, merged=t0 + timedelta(hours=2)), "E-6")
    last = link(builder, builder.pr(2, t0, merged=t0 + timedelta(hours=5)), "E-6")
    deployments = (
        deployment(1, t0 + timedelta(hours=3), early),  # ships only the first pull request
        deployment(2, t0 + timedelta(hours=6), last, outcome=Outcome.FAILURE),
        deployment(3, t0 + timedelta(hours=7), last, production=False),
        deployment(4, t0 + timedelta(hours=9), last, early),
        deployment(5, t0 + timedelta(hours=12), last),
    )
    incidents = (
        Incident("i-2", "payments", "test", "later", t0 + timedelta(hours=11), deployment_id=None),
        Incident(
            "i-1", "payments", "test", "x", t0 + timedelta(hours=10), deployment_id="test:deploy:4"
        ),
        Incident(
            "i-3", "payments", "test", "y", t0 + timedelta(hours=13), deployment_id="test:deploy:4"
        ),
    )
    snapshot = replace(builder.build(), deployments=deployments, incidents=incidents)
    events = events_of(snapshot, "E-6")

    assert events.get(DEPLOYED) == t0 + timedelta(hours=9)
    assert events.deployment is not None and events.deployment.id == "test:deploy:4"
    assert events.get(INCIDENT) == t0 + timedelta(hours=10)
    before = events_of(snapshot, "E-6", now=t0 + timedelta(hours=8))
    assert before.get(DEPLOYED) is None and before.get(MERGED) == t0 + timedelta(hours=5)
    as_of = item_events(
        next(t for t in item_timelines(snapshot) if t.item.key == "E-6"),
        StreamLinks.of(snapshot, END).as_of(t0 + timedelta(hours=9, minutes=30)),
    )
    assert as_of.get(DEPLOYED) == t0 + timedelta(hours=9) and as_of.get(INCIDENT) is None
    with pytest.raises(ValueError, match="cannot tell"):
        StreamLinks.of(snapshot, t0).as_of(END)


# --- steps ----------------------------------------------------------------------------------------


def coded_item(
    builder: SnapshotBuilder, key: str, t0: datetime, *, changes: bool = False, number: int = 1
) -> WorkItem:
    """An item with one linked pull request, done at +30h.

    The pull request is opened at +10h, reviewed at +14h, approved at +16h and merged at +18h.
    """
    walk(builder, key, t0, ("Selected", 0), ("In Progress", 4), ("Code Review", 10), ("Done", 30))
    reviews = [(t0 + timedelta(hours=14), ReviewState.COMMENTED, "ben")]
    if changes:
        reviews.append((t0 + timedelta(hours=15), ReviewState.CHANGES_REQUESTED, "ben"))
    reviews.append((t0 + timedelta(hours=16), ReviewState.APPROVED, "ben"))
    pr = builder.pr(number, t0 + timedelta(hours=10), *reviews, merged=t0 + timedelta(hours=18))
    return link(builder, pr, key)


def test_each_measure_kind_has_its_process_time() -> None:
    builder = SnapshotBuilder()
    t0 = ago(days=10)
    builder.issue(
        "M-1",
        ("Selected", t0),
        ("In Progress", t0 + timedelta(hours=4)),
        ("Code Review", t0 + timedelta(hours=10)),
        ("Done", t0 + timedelta(hours=30)),
        flags=[(t0 + timedelta(hours=5), True), (t0 + timedelta(hours=7), False)],
    )
    reviews = [
        (t0 + timedelta(hours=14), ReviewState.COMMENTED, "ben"),
        (t0 + timedelta(hours=16), ReviewState.APPROVED, "ben"),
    ]
    pr = link(
        builder,
        builder.pr(1, t0 + timedelta(hours=10), *reviews, merged=t0 + timedelta(hours=18)),
        "M-1",
    )
    release = deployment(
        1, t0 + timedelta(hours=24), pr, started=t0 + timedelta(hours=23, minutes=30)
    )
    snapshot = replace(builder.build(), deployments=(release,))
    steps = [
        StreamStep("Board", COMMITTED, PR_OPENED),
        StreamStep("Wait", PR_OPENED, FIRST_REVIEW),
        StreamStep("Review", FIRST_REVIEW, APPROVED),
        StreamStep("Merge wait", APPROVED, MERGED),
        StreamStep("Release", MERGED, DEPLOYED),
        StreamStep("Verify", DEPLOYED, DONE),
    ]
    stream = mapped(snapshot, steps)

    board = stats_of(stream, "Board")  # 10 h, of which 6 h active minus 2 h flagged
    assert (board.lead_seconds_total, board.process_seconds_total) == (10 * HOUR, 4 * HOUR)
    assert (
        stats_of(stream, "Wait").process_seconds_total
        == 0
        == stats_of(stream, "Merge wait").process_seconds_total
    )
    assert stats_of(stream, "Wait").lead_seconds_total == 4 * HOUR
    review = stats_of(stream, "Review")
    assert review.lead_seconds_total == review.process_seconds_total == 2 * HOUR
    deliver = stats_of(stream, "Release")  # the deployment's own half hour
    assert (deliver.lead_seconds_total, deliver.process_seconds_total) == (6 * HOUR, HOUR / 2)
    verify = stats_of(stream, "Verify")  # Code Review is active until Done
    assert verify.lead_seconds_total == verify.process_seconds_total == 6 * HOUR
    assert verify.wait_share == 0 and board.wait_share == pytest.approx(0.6)

    unknown_start = replace(snapshot, deployments=(replace(release, started_at=None),))
    assert stats_of(mapped(unknown_start, steps), "Release").process_seconds_total == 0


def test_items_missing_an_event_or_running_backwards_are_counted_apart() -> None:
    builder = SnapshotBuilder()
    t0 = ago(days=10)
    coded_item(builder, "C-1", t0)
    walk(builder, "C-2", t0, ("In Progress", 0), ("Done", 5))  # no pull request
    late = builder.pr(2, t0 + timedelta(hours=1), merged=t0 + timedelta(hours=9))
    walk(builder, "C-3", t0, ("In Progress", 0), ("Done", 5))  # merged after done
    link(builder, late, "C-3")
    steps = [
        StreamStep("Open to merge", PR_OPENED, MERGED),
        StreamStep("After merge", MERGED, DONE),
    ]
    stream = mapped(builder.build(), steps)

    after = stats_of(stream, "After merge")
    assert (after.items, after.missing, after.backwards) == (1, 1, 1)
    assert after.item_keys == ("C-1",)
    opened = stats_of(stream, "Open to merge")
    assert (opened.items, opened.missing, opened.backwards) == (2, 1, 0)
    assert stream.items == 3 and stream.no_pr == 1


def test_wait_share_is_a_ratio_of_sums() -> None:
    builder = SnapshotBuilder()
    t0 = ago(days=10)
    walk(builder, "W-1", t0, ("Selected", 0), ("In Progress", 1), ("Done", 2))  # 1 h of 2 waits
    walk(builder, "W-2", t0, ("Selected", 0), ("In Progress", 9), ("Done", 10))  # 9 h of 10
    stream = mapped(builder.build(), [StreamStep("Committed", COMMITTED, DONE)])

    stats = stats_of(stream, "Committed")
    assert stats.wait_share == pytest.approx(10 / 12)  # not the mean of 1/2 and 9/10
    assert stream.activity_ratio == pytest.approx(2 / 12)


def test_percentiles_need_five_items_and_the_stream_lead_time_spans_first_to_last_boundary() -> (
    None
):
    builder = SnapshotBuilder()
    t0 = ago(days=20)
    for n, hours in enumerate((10, 20, 30, 40), 1):
        walk(builder, f"P-{n}", t0 + timedelta(days=n), ("In Progress", 0), ("Done", hours))
    steps = [StreamStep("Backlog", CREATED, COMMITTED), StreamStep("Work", COMMITTED, DONE)]
    four = mapped(builder.build(), steps)
    assert four.lead_seconds_p50 is None and stats_of(four, "Work").lead_seconds_p50 is None

    walk(builder, "P-5", t0 + timedelta(days=5), ("In Progress", 0), ("Done", 50))
    five = mapped(builder.build(), steps)
    work = stats_of(five, "Work")
    assert (work.lead_seconds_p50, work.lead_seconds_p85) == (30 * HOUR, 50 * HOUR)  # nearest rank
    assert (five.lead_seconds_p50, five.lead_seconds_p85) == (31 * HOUR, 51 * HOUR)  # + 1 h backlog
    assert work.process_seconds_p50 == 30 * HOUR and work.wait_seconds_p85 == 0


def test_only_items_finished_in_the_window_count() -> None:
    builder = SnapshotBuilder()
    walk(builder, "IN", ago(days=5), ("In Progress", 0), ("Done", 5))
    walk(builder, "OLD", ago(days=90), ("In Progress", 0), ("Done", 5))
    walk(builder, "OPEN", ago(days=5), ("In Progress", 0))
    stream = mapped(builder.build(), [StreamStep("Work", COMMITTED, DONE)])

    assert stream.item_keys == ("IN",) and stream.items == 1
    assert (stream.start, stream.end) == (START, END)


# --- %C&A -----------------------------------------------------------------------------------------

BOARD_STEPS = default_steps(list(WORKFLOW.items()), has_code=False, has_delivery=False)


def test_rework_counts_against_the_step_it_returns_to() -> None:
    builder = SnapshotBuilder()
    t0 = ago(days=10)
    board = [("Selected", 0), ("In Progress", 2), ("Code Review", 6), ("Ready for QA", 8)]
    walk(builder, "R-1", t0, *board, ("QA", 9), ("In Progress", 10), ("Code Review", 12),
         ("Ready for QA", 13), ("QA", 14), ("Done", 15))  # fmt: skip
    walk(builder, "R-2", t0, *board, ("QA", 9), ("Done", 10))
    walk(
        builder, "R-3", t0, *board, ("Blocked", 8.5), ("Ready for QA", 8.7), ("QA", 9), ("Done", 10)
    )
    stream = mapped(builder.build(), BOARD_STEPS)

    rates = {s.step.name: s.complete_accurate for s in stream.steps}
    assert rates == {
        "Backlog": 1.0,
        "Selected": 1.0,
        "In Progress": pytest.approx(2 / 3),  # R-1 came back to it from QA
        "Code Review": 1.0,
        "Ready for QA": 1.0,  # a block is no place on the board: R-3 was not sent back
        "QA": 1.0,
    }
    assert stream.rolled_complete_accurate == pytest.approx(2 / 3)


def test_a_move_back_to_a_column_never_visited_returns_to_the_next_one_visited() -> None:
    builder = SnapshotBuilder()
    t0 = ago(days=10)
    walk(builder, "R-4", t0, ("Code Review", 0), ("QA", 4), ("In Progress", 5), ("Code Review", 7),
         ("Ready for QA", 8), ("QA", 9), ("Done", 10))  # fmt: skip
    steps = [StreamStep("Review", CODE_REVIEW, QA), StreamStep("QA", QA, DONE)]
    rates = {s.step.name: s.complete_accurate for s in mapped(builder.build(), steps).steps}

    assert rates == {"Review": 0.0, "QA": 1.0}


def test_changes_requested_count_against_the_review_step_only() -> None:
    builder = SnapshotBuilder()
    coded_item(builder, "CR-1", ago(days=10), changes=True, number=1)
    coded_item(builder, "CR-2", ago(days=9), number=2)
    steps = default_steps(list(WORKFLOW.items()), has_code=True, has_delivery=False)
    stream = mapped(builder.build(), steps)

    rates = {s.step.name: s.complete_accurate for s in stream.steps}
    assert rates["Review"] == 0.5
    assert {name: rate for name, rate in rates.items() if name != "Review"} == dict.fromkeys(
        ["Backlog", "Waiting to start", "Development", "Waiting for review", "Waiting to merge",
         "Verification"], 1.0,
    )  # fmt: skip
    assert stream.rolled_complete_accurate == 0.5


# --- several pull requests, no pull request -------------------------------------------------------


def test_review_steps_span_the_first_opened_to_the_last_merged() -> None:
    builder = SnapshotBuilder()
    t0 = ago(days=10)
    walk(builder, "S-1", t0, ("In Progress", 0), ("Done", 40))
    link(builder, builder.pr(1, t0 + timedelta(hours=2), merged=t0 + timedelta(hours=5)), "S-1")
    link(builder, builder.pr(2, t0 + timedelta(hours=10), merged=t0 + timedelta(hours=20)), "S-1")
    walk(builder, "S-2", t0, ("In Progress", 0), ("Done", 3))  # no pull request
    stream = mapped(builder.build(), [StreamStep("Code", PR_OPENED, MERGED)])

    code = stats_of(stream, "Code")
    assert code.lead_seconds_total == 18 * HOUR and code.item_keys == ("S-1",)
    assert (stream.no_pr, code.missing) == (1, 1)


def test_an_item_without_a_pull_request_still_counts_for_its_board_steps() -> None:
    builder = SnapshotBuilder()
    coded_item(builder, "N-1", ago(days=10))
    walk(builder, "N-2", ago(days=9), ("Selected", 0), ("In Progress", 4), ("Done", 8))
    steps = default_steps(list(WORKFLOW.items()), has_code=True, has_delivery=False)
    stream = mapped(builder.build(), steps)

    counted = {s.step.name: s.items for s in stream.steps}
    assert counted["Backlog"] == counted["Waiting to start"] == 2
    assert counted["Development"] == counted["Review"] == counted["Verification"] == 1
    assert stream.no_pr == 1


# --- the hotspot ----------------------------------------------------------------------------------


def queue_then_work(
    builder: SnapshotBuilder, prefix: str, done_before: float, queue: float
) -> None:
    """Five items: a long backlog, ``queue`` days in Selected, one day in progress."""
    for n in range(5):
        done = ago(days=done_before + n)
        entered = done - timedelta(days=1 + queue)
        builder.issue(
            f"{prefix}-{n}",
            ("Selected", entered),
            ("In Progress", done - timedelta(days=1)),
            ("Done", done),
            created=entered - timedelta(days=20),
        )


HOTSPOT_STEPS = [
    StreamStep("Backlog", CREATED, COMMITTED),
    StreamStep("Queue", COMMITTED, IN_PROGRESS),
    StreamStep("Work", IN_PROGRESS, DONE),
]


def test_the_hotspot_is_the_largest_part_after_the_backlog_and_its_change() -> None:
    builder = SnapshotBuilder()
    queue_then_work(builder, "NOW", done_before=2, queue=3)
    queue_then_work(builder, "BEFORE", done_before=35, queue=1)
    stream = mapped(builder.build(), HOTSPOT_STEPS)

    hotspot = stream.hotspot
    assert hotspot is not None
    assert (hotspot.step, hotspot.part) == ("Queue", WAIT_PART)  # not the 20-day backlog
    assert hotspot.share == pytest.approx(0.75)
    assert hotspot.previous_share == pytest.approx(0.5)
    assert hotspot.change == pytest.approx(0.25)
    quiet = value_stream_map(
        builder.build(), item_timelines(builder.build()), HOTSPOT_STEPS, START, END, previous=False
    )
    assert quiet.hotspot is not None and quiet.hotspot.previous_share is None


def test_the_hotspot_can_be_work_and_has_no_previous_share_from_too_few_items() -> None:
    builder = SnapshotBuilder()
    queue_then_work(builder, "NOW", done_before=2, queue=0.25)
    walk(builder, "BEFORE", ago(days=40), ("Selected", 0), ("In Progress", 1), ("Done", 30))
    hotspot = mapped(builder.build(), HOTSPOT_STEPS).hotspot

    assert hotspot is not None and (hotspot.step, hotspot.part) == ("Work", PROCESS_PART)
    assert hotspot.share == pytest.approx(0.8)
    assert hotspot.previous_share is None and hotspot.change is None


def test_no_items_no_hotspot_and_no_ratios() -> None:
    stream = mapped(SnapshotBuilder().build(), HOTSPOT_STEPS)

    assert stream.hotspot is None and stream.items == 0
    assert stream.activity_ratio is None and stream.rolled_complete_accurate is None
    assert all(s.wait_share is None and s.complete_accurate is None for s in stream.steps)
    with pytest.raises(ValueError, match="at least one step"):
        mapped(SnapshotBuilder().build(), [])


# --- the default stream ---------------------------------------------------------------------------


def names_and_bounds(steps: tuple[StreamStep, ...]) -> list[tuple[str, str, str]]:
    return [(s.name, s.start, s.end) for s in steps]


def test_the_default_stream_of_the_demo_workflow_reads_board_code_then_delivery() -> None:
    steps = default_steps(DEMO_WORKFLOW, has_code=True, has_delivery=True)

    assert names_and_bounds(steps) == [
        ("Backlog", CREATED, COMMITTED),
        ("Waiting to start", COMMITTED, IN_PROGRESS),
        ("Development", IN_PROGRESS, PR_OPENED),
        ("Waiting for review", PR_OPENED, FIRST_REVIEW),
        ("Review", FIRST_REVIEW, APPROVED),
        ("Waiting to merge", APPROVED, MERGED),
        ("Release", MERGED, DEPLOYED),
        ("Verification", DEPLOYED, DONE),
    ]
    assert [s.measure for s in steps] == [
        "board", "board", "board", "wait", "review", "wait", "delivery", "board"
    ]  # fmt: skip
    without_delivery = default_steps(DEMO_WORKFLOW, has_code=True, has_delivery=False)
    assert names_and_bounds(without_delivery)[-1] == ("Verification", MERGED, DONE)


def test_without_a_waiting_column_development_starts_at_commitment() -> None:
    workflow = [("To Do", Stage.BACKLOG), ("Doing", Stage.ACTIVE), ("Done", Stage.DONE)]
    steps = default_steps(workflow, has_code=True, has_delivery=False)

    assert names_and_bounds(steps)[:2] == [
        ("Backlog", CREATED, COMMITTED),
        ("Development", COMMITTED, PR_OPENED),
    ]


def test_without_code_the_default_is_one_step_per_in_progress_column() -> None:
    steps = default_steps(DEMO_WORKFLOW, has_code=False, has_delivery=True)

    assert names_and_bounds(steps) == [
        ("Backlog", CREATED, COMMITTED),
        ("Selected for Development", COMMITTED, IN_PROGRESS),
        ("In Progress", IN_PROGRESS, CODE_REVIEW),
        ("Code Review", CODE_REVIEW, status_event("Ready for QA")),
        ("Ready for QA", status_event("Ready for QA"), QA),
        ("QA", QA, DONE),
    ]
    assert names_and_bounds(default_steps([], has_code=False, has_delivery=False)) == [
        ("Backlog", CREATED, COMMITTED),
        ("In progress", COMMITTED, DONE),
    ]


def test_resolve_steps_takes_the_configured_ones_else_the_default_for_the_links() -> None:
    builder = SnapshotBuilder()
    walk(builder, "L-1", ago(days=3), ("In Progress", 0), ("Done", 5))
    unlinked = builder.pr(1, ago(days=3), merged=ago(days=2))
    workflow = list(WORKFLOW.items())
    board_only = resolve_steps(builder.build(), workflow)
    assert all(s.measure == "board" for s in board_only)

    pr = link(builder, unlinked, "L-1")
    code = resolve_steps(builder.build(), workflow)
    assert code == default_steps(workflow, has_code=True, has_delivery=False)
    shipped = replace(builder.build(), deployments=(deployment(1, ago(days=1), pr),))
    assert resolve_steps(shipped, workflow) == default_steps(
        workflow, has_code=True, has_delivery=True
    )
    staging = replace(
        builder.build(), deployments=(deployment(1, ago(days=1), pr, production=False),)
    )
    assert resolve_steps(staging, workflow)[-1].end == DONE
    assert DEPLOYED not in {s.end for s in resolve_steps(staging, workflow)}
    configured = (StreamStep("All", CREATED, DONE),)
    assert resolve_steps(shipped, workflow, configured) == configured


def test_workflow_of_takes_each_status_stage_from_its_items_then_its_changes_then_its_name() -> (
    None
):
    builder = SnapshotBuilder()
    walk(builder, "F-1", ago(days=3), ("In Progress", 0), ("Done", 5))
    cancelled = builder.issue("F-2", ("In Progress", ago(days=3)))
    builder.items[builder.items.index(cancelled)] = replace(
        cancelled, status="Done", stage=Stage.CANCELLED
    )
    snapshot = builder.build(statuses=["Backlog", "In Progress", "Done", "Doing", "Closed"])

    assert workflow_of(snapshot) == [
        ("Backlog", Stage.BACKLOG),  # no item in it, no change into it: by its name
        ("In Progress", Stage.ACTIVE),  # from the changes into it
        ("Done", Stage.DONE),  # done rather than cancelled
        ("Doing", Stage.BACKLOG),  # nothing tells: not started by its name
        ("Closed", Stage.DONE),
    ]


def test_maps_on_kept_timelines_equal_maps_worked_out_from_scratch_at_any_instant() -> None:
    # The events of each finished item are kept with the timelines and reused at other instants
    # once they have settled; an item whose deployment came in between is read again.
    builder = SnapshotBuilder()
    t0 = ago(days=12)
    early = coded_item(builder, "K-1", t0, number=1)
    late = coded_item(builder, "K-2", t0 + timedelta(hours=1), number=2)
    walk(builder, "K-3", t0, ("In Progress", 2), ("Done", 20))
    shipped_early = deployment(1, t0 + timedelta(hours=20), early)
    shipped_late = deployment(2, ago(days=2), late)  # between the two instants
    snapshot = replace(builder.build(), deployments=(shipped_early, shipped_late))
    steps = default_steps(list(WORKFLOW.items()), has_code=True, has_delivery=True)
    kept = item_timelines(snapshot)

    def from_scratch(end: datetime) -> ValueStreamMap:
        fresh = replace(snapshot)  # another snapshot object: nothing of the kept one is reused
        return value_stream_map(fresh, item_timelines(fresh), steps, end - timedelta(days=30), end)

    for end in (ago(), ago(days=5), ago()):  # later, then earlier, then later again
        on_kept = value_stream_map(snapshot, kept, steps, end - timedelta(days=30), end)
        assert on_kept == from_scratch(end)
        release = next(s for s in on_kept.steps if s.step.end == DEPLOYED)
        assert release.items == (2 if end == ago() else 1)  # K-2 shipped between the two
