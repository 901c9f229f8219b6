"""Board columns: entry instants (METRICS 3.1), cumulative flow (3.6), unmapped statuses (1.1)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest

from insights.metrics.flow_items import item_timelines
from insights.metrics.net_flow import net_flow
from insights.metrics.wip import wip_per_day
from insights.model import ItemKind, Snapshot, Stage, Transition, WorkItem
from insights.stages import board_columns, column_index, cumulative_flow, stage_timestamps
from insights.workflow import Workflow, default_stage, is_committed

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # Monday 2 March
COLUMNS = ["Backlog", "Committed", "Build", "Test", "Done"]
STAGES = {
    "Backlog": Stage.BACKLOG,
    "Committed": Stage.WAITING,
    "Build": Stage.ACTIVE,
    "Test": Stage.ACTIVE,
    "Done": Stage.DONE,
    "Blocked": Stage.BLOCKED,
    "Triage": Stage.WAITING,
    "Won't Do": Stage.CANCELLED,
}


def at(days: float, hours: float = 0) -> datetime:
    return T0 + timedelta(days=days, hours=hours)


def item_with(
    key: str, moves: list[tuple[datetime, str]], initial: str = "Backlog", created: datetime = T0
) -> tuple[WorkItem, list[Transition]]:
    iid = f"jira:issue:{key}"
    transitions, prev = [], initial
    for when, status in moves:
        transitions.append(Transition(iid, when, prev, status, STAGES[prev], STAGES[status]))
        prev = status
    item = WorkItem(
        id=iid,
        team="t",
        source="jira",
        key=key,
        kind=ItemKind.ISSUE,
        type="Story",
        title=key,
        status=prev,
        stage=STAGES[prev],
        created_at=created,
        updated_at=moves[-1][0] if moves else created,
    )
    return item, transitions


def snapshot_of(*histories: tuple[WorkItem, list[Transition]]) -> Snapshot:
    return Snapshot(
        team="t",
        items=[item for item, _ in histories],
        transitions={item.id: moves for item, moves in histories if moves},
        flags={},
        reviews={},
        statuses=[*COLUMNS[:3], "Blocked", *COLUMNS[3:], "Won't Do"],
    )


def test_backflow_wipes_later_columns_and_skipped_ones_are_back_filled() -> None:
    item, moves = item_with(
        "A-1", [(at(1), "Build"), (at(2), "Test"), (at(3), "Build"), (at(5), "Done")]
    )
    first = stage_timestamps(item, moves, column_index(COLUMNS))
    # Committed was skipped (back-filled from Build); Test was wiped by the move back and then
    # skipped on the way to Done (back-filled from Done); Build keeps its first entry (JAM).
    assert first == [T0, at(1), at(1), at(5), at(5)]
    last = stage_timestamps(item, moves, column_index(COLUMNS), reentry="last")
    assert last == [T0, at(3), at(3), at(5), at(5)]


def test_done_reopened_and_done_again_keeps_the_final_done() -> None:  # METRICS 5.3
    item, moves = item_with(
        "A-2", [(at(1), "Build"), (at(2), "Done"), (at(3), "Test"), (at(4), "Done")]
    )
    assert stage_timestamps(item, moves, column_index(COLUMNS)) == [T0, at(1), at(1), at(3), at(4)]
    reopened, moves = item_with("A-3", [(at(1), "Build"), (at(2), "Done"), (at(3), "Build")])
    assert stage_timestamps(reopened, moves, column_index(COLUMNS)) == [
        T0,
        at(1),
        at(1),
        None,
        None,
    ]


def test_statuses_that_are_not_columns_are_ignored() -> None:  # METRICS 5.2
    item, moves = item_with("A-4", [(at(1), "Build"), (at(2), "Triage"), (at(3), "Test")])
    # Triage (unmapped on the board) neither enters nor wipes anything.
    assert stage_timestamps(item, moves, column_index(COLUMNS)) == [T0, at(1), at(1), at(3), None]
    # ...but its flow state still counts for the timeline: it is waiting, in progress.
    timeline = item_timelines(snapshot_of((item, moves)))[0]
    assert timeline.started_at == at(1)
    assert next(timeline.stays(at(2)))[1] is Stage.WAITING


def test_columns_match_case_insensitively_and_must_be_unique() -> None:
    item, moves = item_with("A-5", [(at(1), "Build")])
    lower = column_index([c.lower() for c in COLUMNS])
    assert stage_timestamps(item, moves, lower)[:3] == [T0, at(1), at(1)]
    with pytest.raises(ValueError, match="appears twice"):
        column_index(["Build", "build"])
    with pytest.raises(ValueError, match="reentry"):
        stage_timestamps(item, moves, lower, reentry="never")  # type: ignore[arg-type]


def test_an_item_created_in_a_later_column_back_fills_the_earlier_ones() -> None:
    item, moves = item_with("A-6", [], initial="Test")
    assert stage_timestamps(item, moves, column_index(COLUMNS)) == [T0, T0, T0, T0, None]


def test_board_columns_leave_out_blocked_and_cancelled_statuses() -> None:
    snap = snapshot_of(item_with("A-7", [(at(1), "Build")]))
    assert board_columns(snap) == COLUMNS  # Blocked and Won't Do guessed from their names
    assert board_columns(snap, {"Committed": Stage.BLOCKED}) == [
        "Backlog",
        "Build",
        "Test",
        "Done",
    ]


@pytest.mark.parametrize(
    ("status", "category", "committed", "stage"),
    [
        ("Peer Check", None, False, Stage.BACKLOG),  # nothing tells: before commitment
        ("Peer Check", None, True, Stage.WAITING),  # after it: started, nobody known on it
        ("Peer Check", "undefined", True, Stage.WAITING),  # Jira's "No Category"
        ("Peer Check", "indeterminate", False, Stage.ACTIVE),
        ("Peer Check", "new", True, Stage.BACKLOG),
        ("Waiting for Customer", None, False, Stage.WAITING),  # METRICS 1.1 name pattern
        ("Closed", None, False, Stage.DONE),
    ],
)
def test_a_status_nothing_places_never_starts_work(
    status: str, category: str | None, committed: bool, stage: Stage
) -> None:
    workflow = Workflow({"Backlog": Stage.BACKLOG})
    assert workflow.stage_for(status, category, None, committed) is stage
    assert workflow.unmapped == {status}
    assert default_stage(status, category, None, committed) is stage


def test_only_a_started_or_finished_item_is_committed_to() -> None:
    assert [is_committed(s) for s in (None, *Stage)] == [
        False,  # no stage yet: its initial status
        False,  # backlog
        True,  # waiting
        True,  # active
        True,  # blocked
        True,  # done
        False,  # cancelled
    ]


def test_cumulative_flow_counts_arrivals_per_column_per_day() -> None:
    snap = snapshot_of(
        item_with("C-1", [(at(0, 1), "Build"), (at(1), "Test"), (at(2), "Done")]),
        item_with("C-2", [(at(1), "Committed"), (at(3), "Build")]),
        item_with("C-3", [(at(1), "Build"), (at(2), "Test"), (at(3), "Build")]),  # backflow
        item_with("C-4", [(at(1), "Build"), (at(2), "Won't Do")]),  # cancelled: left out
        item_with("C-5", [], created=at(5)),  # created after the window
    )
    flow = cumulative_flow(snap, COLUMNS, date(2026, 3, 2), date(2026, 3, 6), UTC)
    assert flow.days == [date(2026, 3, d) for d in (2, 3, 4, 5)]
    # Days 2..5 March. C-3's visit to Test was wiped by its move back on the 5th: the diagram
    # rewrites history, so Test never counted C-3.
    assert flow.counts == {
        "Backlog": [3, 3, 3, 3],
        "Committed": [1, 3, 3, 3],
        "Build": [1, 2, 2, 3],
        "Test": [0, 1, 1, 1],
        "Done": [0, 0, 1, 1],
    }
    assert flow.band("Build") == [1, 1, 1, 2]
    assert flow.band("Done") == [0, 0, 1, 1]
    assert flow.item_keys["Build"] == ("C-2", "C-3")
    assert flow.item_keys["Done"] == ("C-1",)


def test_items_settled_before_the_window_count_on_every_day() -> None:
    history = [
        item_with("S-1", [(at(0, 1), "Build"), (at(1), "Done")]),
        item_with("S-2", [(at(0, 1), "Test")]),
        item_with("S-3", [(at(20), "Build")]),
    ]
    flow = cumulative_flow(
        snapshot_of(*history), COLUMNS, date(2026, 3, 20), date(2026, 3, 24), UTC
    )
    assert flow.counts["Backlog"] == [3, 3, 3, 3]
    assert flow.counts["Committed"] == [2, 2, 3, 3]  # S-3 enters Build on 22 March
    assert flow.counts["Test"] == [2, 2, 2, 2]
    assert flow.counts["Done"] == [1, 1, 1, 1]


def random_snapshot(seed: int, count: int = 60) -> Snapshot:
    """Random histories: forward moves, moves back to a column already entered, to the backlog."""
    rng = random.Random(seed)
    histories = []
    for n in range(count):
        created = at(rng.uniform(0, 20))
        moves, when, position, entered = [], created, 0, {0}
        for _ in range(rng.randint(0, 6)):
            when += timedelta(hours=rng.uniform(1, 60))
            later = list(range(position + 1, len(COLUMNS)))
            back = [p for p in entered if 0 < p < position]
            position = rng.choice([*later, *back, 0] if position else later)
            entered = {0} if position == 0 else {p for p in entered if p < position} | {position}
            moves.append((when, COLUMNS[position]))
        histories.append(item_with(f"R-{n}", moves, created=created))
    return snapshot_of(*histories)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_committed_minus_done_in_the_diagram_is_the_wip(seed: int) -> None:
    # METRICS 3.3: JAM's WIP is cfd[committed] - cfd[done], identical to the WIP rule. (Our
    # timelines restart work only on a move back to the backlog, so a move back to an in-progress
    # column skipped on the way in is the one history where they differ: not generated here.)
    snap = random_snapshot(seed)
    start, end = date(2026, 3, 1), date(2026, 3, 28)
    flow = cumulative_flow(snap, COLUMNS, start, end, UTC)
    wip = wip_per_day(snap, start, end, UTC)
    assert [d.wip for d in wip] == [
        a - b for a, b in zip(flow.counts["Committed"], flow.counts["Done"], strict=True)
    ]
    weekly = net_flow(item_timelines(snap), start, end, UTC, period="day")
    deltas = [a - b for a, b in zip(flow.counts["Committed"], flow.counts["Done"], strict=True)]
    assert [sum(p.net for p in weekly[: k + 1]) for k in range(len(weekly))] == [
        d - (deltas[0] - weekly[0].net) for d in deltas
    ]


def test_a_window_inside_the_history_matches_the_full_diagram() -> None:
    snap = random_snapshot(7)
    full = cumulative_flow(snap, COLUMNS, date(2026, 3, 1), date(2026, 3, 31), UTC)
    late = cumulative_flow(snap, COLUMNS, date(2026, 3, 15), date(2026, 3, 31), UTC)
    for column in COLUMNS:
        assert late.counts[column] == full.counts[column][14:]
    assert late.item_keys == full.item_keys


def test_a_move_back_to_a_skipped_column_restarts_the_column_but_not_the_work() -> None:
    # Documented deviation: the board (JAM) says the item entered Committed only at day 2; its
    # timeline (flow states) says work started at day 1 and never went back to the backlog.
    item, moves = item_with("D-1", [(at(1), "Build"), (at(2), "Committed")])
    assert stage_timestamps(item, moves, column_index(COLUMNS))[:3] == [T0, at(2), None]
    assert item_timelines(snapshot_of((item, moves)))[0].started_at == at(1)
