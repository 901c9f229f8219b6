"""Per-item timelines (METRICS.md 1.2 and 3.1 at the level of flow states) and the team calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from insights.item_timeline import (
    DayIndex,
    build_timeline,
    clip,
    day_end_states,
    day_start,
    local_date,
    overlap_seconds,
    timeline_of,
    union_seconds,
    week_start,
)
from insights.model import FlagChange, ItemKind, Stage, Transition, WorkItem
from insights.timeline_index import Timelines, as_timelines

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
LONDON = ZoneInfo("Europe/London")
STAGES = {
    "Backlog": Stage.BACKLOG,
    "Ready": Stage.WAITING,
    "In Progress": Stage.ACTIVE,
    "Review": Stage.ACTIVE,
    "Blocked": Stage.BLOCKED,
    "Done": Stage.DONE,
    "Won't Do": Stage.CANCELLED,
}


def at(days: float, hours: float = 0) -> datetime:
    return T0 + timedelta(days=days, hours=hours)


def item_with(
    moves: list[tuple[datetime, str]],
    initial: str = "Backlog",
    created: datetime = T0,
    key: str = "PAY-1",
    resolved: datetime | None = None,
) -> tuple[WorkItem, list[Transition]]:
    iid = f"jira:issue:{key}"
    transitions, prev = [], initial
    for when, status in moves:
        transitions.append(Transition(iid, when, prev, status, STAGES[prev], STAGES[status]))
        prev = status
    item = WorkItem(
        id=iid,
        team="payments",
        source="jira",
        key=key,
        kind=ItemKind.ISSUE,
        type="Story",
        title=f"Item {key}",
        status=prev,
        stage=STAGES[prev],
        created_at=created,
        updated_at=moves[-1][0] if moves else created,
        resolved_at=resolved,
    )
    return item, transitions


def flags(iid: str, *changes: tuple[datetime, bool]) -> list[FlagChange]:
    return [FlagChange(iid, when, flagged) for when, flagged in changes]


def test_a_straight_path_starts_at_the_first_move_into_progress_and_finishes_at_done() -> None:
    item, moves = item_with([(at(1), "Ready"), (at(2), "In Progress"), (at(5), "Done")])
    t = build_timeline(item, moves)
    assert (t.started_at, t.finished_at) == (at(1), at(5))
    assert t.cycle_time_seconds() == 4 * 86400
    assert t.lead_time_seconds() == 5 * 86400
    assert not t.in_progress and t.ended_at == at(5)
    assert t.status_since == at(5)


def test_an_item_created_in_progress_started_when_created() -> None:  # METRICS 5.6
    item, moves = item_with([(at(3), "Done")], initial="In Progress")
    t = build_timeline(item, moves)
    assert t.started_at == T0
    assert t.cycle_time_seconds() == 3 * 86400


def test_backflow_to_the_backlog_wipes_the_start() -> None:  # METRICS 5.3
    item, moves = item_with(
        [(at(1), "In Progress"), (at(2), "Backlog"), (at(4), "In Progress"), (at(6), "Done")]
    )
    t = build_timeline(item, moves)
    assert t.started_at == at(4)
    parked, _ = item_with([(at(1), "In Progress"), (at(2), "Backlog")])
    back = build_timeline(parked, moves[:2])
    assert back.started_at is None and not back.in_progress
    assert back.age_seconds(at(9)) is None


def test_a_reopened_item_is_not_finished_and_its_final_done_is_kept() -> None:  # METRICS 5.3
    path = [(at(1), "In Progress"), (at(3), "Done"), (at(4), "In Progress")]
    reopened, moves = item_with(path)
    t = build_timeline(reopened, moves)
    assert t.finished_at is None and t.in_progress and t.started_at == at(1)
    done_again, moves = item_with([*path, (at(7), "Done")])
    t = build_timeline(done_again, moves)
    assert (t.started_at, t.finished_at) == (at(1), at(7))


def test_reentry_last_restarts_the_clock_when_work_is_reopened() -> None:
    item, moves = item_with(
        [(at(1), "In Progress"), (at(3), "Done"), (at(4), "In Progress"), (at(7), "Done")]
    )
    first = build_timeline(item, moves)
    last = build_timeline(item, moves, reentry="last")
    assert first.started_at == at(1)
    assert last.started_at == at(4) and last.finished_at == at(7)
    moving_within = item_with([(at(1), "In Progress"), (at(2), "Review"), (at(3), "In Progress")])
    assert build_timeline(*moving_within, reentry="last").started_at == at(1)
    with pytest.raises(ValueError, match="reentry"):
        build_timeline(item, moves, reentry="sometimes")  # type: ignore[arg-type]


def test_skipping_progress_back_fills_the_start_from_done() -> None:  # METRICS 5.4
    item, moves = item_with([(at(2), "Done")])
    t = build_timeline(item, moves)
    assert t.started_at == t.finished_at == at(2)
    assert t.cycle_time_seconds() == 0


def test_cancelled_work_ends_at_cancellation_and_never_finishes() -> None:
    item, moves = item_with([(at(1), "In Progress"), (at(2), "Won't Do")])
    t = build_timeline(item, moves)
    assert t.started_at == at(1) and t.finished_at is None
    assert t.cancelled_at == at(2) == t.ended_at
    assert not t.in_progress
    revived, moves = item_with([(at(1), "In Progress"), (at(2), "Won't Do"), (at(3), "Review")])
    t = build_timeline(revived, moves)
    assert t.cancelled_at is None and t.in_progress and t.started_at == at(1)


def test_a_done_item_without_history_runs_from_creation_to_resolution() -> None:
    item, _ = item_with([], initial="Done", resolved=at(4))
    t = build_timeline(item, [])
    assert (t.started_at, t.finished_at) == (T0, at(4))
    backlog, _ = item_with([])
    assert build_timeline(backlog, []).started_at is None


def test_the_order_of_the_input_does_not_matter() -> None:
    item, moves = item_with([(at(1), "In Progress"), (at(2), "Review"), (at(3), "Done")])
    t = build_timeline(item, list(reversed(moves)))
    assert (t.started_at, t.finished_at) == (at(1), at(3))
    assert [tr.at for tr in t.transitions] == [at(1), at(2), at(3)]


def test_flags_and_blocked_stages_say_since_when_an_item_is_blocked() -> None:
    item, moves = item_with([(at(1), "In Progress"), (at(3), "Blocked")])
    t = build_timeline(
        item, moves, flags(item.id, (at(1, 2), True), (at(1, 5), False), (at(2), True))
    )
    assert t.flagged_since == at(2)
    assert t.blocked_since == at(2)
    assert t.flag_spans() == [(at(1, 2), at(1, 5)), (at(2), None)]
    cleared = build_timeline(item, moves, flags(item.id, (at(2), True), (at(2, 1), False)))
    assert cleared.flagged_since is None and cleared.blocked_since == at(3)
    assert t.age_seconds(at(5)) == 4 * 86400


def test_stays_list_each_status_from_creation_and_can_start_later() -> None:
    item, moves = item_with([(at(1), "In Progress"), (at(2), "Review"), (at(4), "Done")])
    t = build_timeline(item, moves)
    assert list(t.stays()) == [
        ("Backlog", Stage.BACKLOG, T0, at(1)),
        ("In Progress", Stage.ACTIVE, at(1), at(2)),
        ("Review", Stage.ACTIVE, at(2), at(4)),
        ("Done", Stage.DONE, at(4), None),
    ]
    assert [s[0] for s in t.stays(at(2, 5))] == ["Review", "Done"]
    assert [s[0] for s in t.stays(at(9))] == ["Done"]
    assert t.stage_spans(frozenset({Stage.ACTIVE})) == [(at(1), at(2)), (at(2), at(4))]


def test_a_jira_offset_without_colon_is_one_utc_instant_on_each_teams_calendar() -> None:
    # METRICS 5.1: 2021-01-25T11:09:27.985+0800 is 03:09:27.985Z (sources parse, storage keeps UTC).
    instant = datetime.fromisoformat("2021-01-25T11:09:27.985+0800").astimezone(UTC)
    assert instant == datetime(2021, 1, 25, 3, 9, 27, 985000, tzinfo=UTC)
    assert local_date(instant, ZoneInfo("Asia/Shanghai")) == date(2021, 1, 25)
    assert local_date(instant, ZoneInfo("America/Los_Angeles")) == date(2021, 1, 24)


def test_days_begin_at_local_midnight_across_a_daylight_saving_change() -> None:
    window = DayIndex(date(2026, 3, 28), date(2026, 3, 31), LONDON)
    assert window.days == [date(2026, 3, 28), date(2026, 3, 29), date(2026, 3, 30)]
    assert window.edges[0] == datetime(2026, 3, 28, tzinfo=UTC)
    assert window.edges[2] - window.edges[1] == timedelta(hours=23)  # clocks go forward
    assert window.edges[3] == datetime(2026, 3, 30, 23, tzinfo=UTC)
    assert window.index(datetime(2026, 3, 29, 23, 30, tzinfo=UTC)) == 2
    assert window.index(datetime(2026, 3, 27, 23, 59, tzinfo=UTC)) is None
    assert window.index(window.last) is None
    assert window.first_day_ending_after(window.edges[1]) == 1
    assert window.first_day_ending_after(window.last) == 3
    assert day_start(date(2026, 7, 1), LONDON) == datetime(2026, 6, 30, 23, tzinfo=UTC)
    assert week_start(date(2026, 3, 29)) == date(2026, 3, 23)
    with pytest.raises(ValueError, match="before start"):
        DayIndex(date(2026, 3, 2), date(2026, 3, 1), UTC)


def test_the_state_at_the_end_of_a_day_excludes_a_change_at_midnight() -> None:
    midnight = datetime(2026, 3, 4, tzinfo=UTC)
    item, moves = item_with([(at(0, 2), "In Progress"), (midnight, "Review")])
    t = build_timeline(item, moves)
    window = DayIndex(date(2026, 3, 1), date(2026, 3, 5), UTC)
    runs = [
        (first, stop, status) for first, stop, status, _ in day_end_states(t, window, range(1, 4))
    ]
    # 2 March ends in progress; 3 March ends in progress (Review starts on the 4th at 00:00).
    assert runs == [(1, 3, "In Progress"), (3, 4, "Review")]
    assert day_end_states(t, window, range(0, 1)) == [(0, 1, "Backlog", Stage.BACKLOG)]
    assert day_end_states(t, window, range(2, 2)) == []
    assert window.present(at(0, 2), midnight) == range(1, 3)


def test_timelines_answer_window_queries_half_open() -> None:
    a = build_timeline(*item_with([(at(1), "In Progress"), (at(3), "Done")], key="A-1"))
    b = build_timeline(*item_with([(at(2), "In Progress"), (at(4), "Done")], key="A-2"))
    c = build_timeline(*item_with([(at(2), "In Progress")], key="A-3"))
    d = build_timeline(*item_with([(at(1), "In Progress"), (at(2), "Won't Do")], key="A-4"))
    timelines = Timelines([b, a, c, d])
    assert timelines.finished_between(at(3), at(4)) == [a]
    assert timelines.finished_between(at(0), at(9)) == [a, b]
    assert timelines.started_between(at(2), at(3)) == [b, c]
    assert timelines.in_progress == [c]
    assert timelines.live_between(at(3), at(3, 1)) == [b, a, c]
    assert timelines.live_between(at(2), at(2)) == [a, d]  # b and c start at 2, not before
    assert timelines.changed_since(at(3)) == [b, a]
    assert as_timelines(timelines) is timelines
    assert as_timelines(iter([a])) == [a]


def test_span_helpers_clip_merge_and_intersect() -> None:
    assert clip([(at(0), at(2)), (at(3), None)], at(1), at(4)) == [(at(1), at(2)), (at(3), at(4))]
    assert union_seconds([(at(0), at(2)), (at(1), at(3)), (at(5), at(6))]) == 4 * 86400
    xs = [(at(0), at(2)), (at(3), at(5))]
    ys = [(at(1), at(4))]
    assert overlap_seconds(xs, ys) == 2 * 86400


def test_timeline_of_trusts_sorted_events_as_a_snapshot_holds_them() -> None:
    item, moves = item_with([(at(1), "In Progress"), (at(2), "Done")])
    assert timeline_of(item, moves).transitions is moves
