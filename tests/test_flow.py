"""Flow metrics on small hand-built snapshots; every expected value is derived in the test."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from insights.metrics.aging import aging_wip
from insights.metrics.blocked_time import blocked_time
from insights.metrics.cycle_time import cycle_time_points, cycle_time_summary
from insights.metrics.distribution import flow_distribution
from insights.metrics.efficiency import flow_efficiency
from insights.metrics.flow_items import flow_type, flow_types, item_timelines
from insights.metrics.flow_load import flow_load
from insights.metrics.lead_time import issue_lead_time_minutes, lead_time_summary
from insights.metrics.net_flow import net_flow
from insights.metrics.sle import service_level_expectation, sle_compliance
from insights.metrics.throughput import throughput
from insights.metrics.wip import wip_per_day
from insights.model import FlagChange, FlowType, ItemKind, Snapshot, Stage, Transition, WorkItem

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # Monday 2 March 2026, 09:00 UTC
DAY = 86400.0
BERLIN = ZoneInfo("Europe/Berlin")
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


class Board:
    """Builds a snapshot item by item."""

    def __init__(self) -> None:
        self.items: list[WorkItem] = []
        self.transitions: dict[str, list[Transition]] = {}
        self.flags: dict[str, list[FlagChange]] = {}

    def add(
        self,
        key: str,
        moves: list[tuple[datetime, str]],
        *,
        initial: str = "Backlog",
        created: datetime = T0,
        type: str = "Story",
        labels: tuple[str, ...] = (),
        flags: list[tuple[datetime, bool]] | None = None,
        parent: str | None = None,
        blocked_by: tuple[str, ...] = (),
    ) -> None:
        iid = f"jira:issue:{key}"
        prev, transitions = initial, []
        for when, status in moves:
            transitions.append(Transition(iid, when, prev, status, STAGES[prev], STAGES[status]))
            prev = status
        self.items.append(
            WorkItem(
                id=iid,
                team="t",
                source="jira",
                key=key,
                kind=ItemKind.ISSUE,
                type=type,
                title=f"Title of {key}",
                status=prev,
                stage=STAGES[prev],
                created_at=created,
                updated_at=moves[-1][0] if moves else created,
                url=f"https://jira.example/browse/{key}",
                labels=labels,
                parent_key=parent,
                blocked_by=blocked_by,
            )
        )
        self.transitions[iid] = transitions
        self.flags[iid] = [FlagChange(iid, when, on) for when, on in flags or []]

    def snapshot(self) -> Snapshot:
        return Snapshot("t", self.items, self.transitions, self.flags, {}, statuses=list(STAGES))

    def timelines(self):  # type: ignore[no-untyped-def]
        return item_timelines(self.snapshot())


def test_cycle_time_counts_calendar_days_in_the_team_zone() -> None:  # METRICS 5.5
    board = Board()
    board.add("A", [(at(0, 1), "In Progress"), (at(0, 6), "Done")])  # 10:00 -> 15:00 on 2 March
    late = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
    board.add("B", [(late, "In Progress"), (late + timedelta(hours=1), "Done")])
    board.add("C", [(at(1), "In Progress"), (at(3), "Done")])  # finishes at the window's end
    points = cycle_time_points(board.timelines(), T0, at(3), UTC)
    assert [(p.key, p.cycle_time_seconds, p.cycle_time_days) for p in points] == [
        ("A", 5 * 3600, 1),  # same-day work: 1 day (AA)...
        ("B", 3600, 2),  # ...crossing midnight in UTC: 2 days
    ]
    assert points[0].cycle_time_days_jam == 0  # ...and 0 days for JAM
    # In New York (UTC-5 on 2 March) B starts and finishes on the same evening.
    new_york = cycle_time_points(board.timelines(), T0, at(3), ZoneInfo("America/New_York"))
    assert [p.cycle_time_days for p in new_york] == [1, 1]
    assert points[0].url == "https://jira.example/browse/A"


def test_cycle_and_lead_time_summaries_use_nearest_rank_from_five_items() -> None:
    board = Board()
    for n in range(1, 6):  # created a day before starting, n days of work
        board.add(f"S-{n}", [(at(1), "In Progress"), (at(1 + n), "Done")])
    timelines = board.timelines()
    cycle = cycle_time_summary(timelines, T0, at(10))
    assert cycle.count == 5 and cycle.mean_seconds == 3 * DAY
    # nearest rank over [1..5] days: p50 -> 3rd, p70 -> 4th, p85 and p95 -> 5th
    assert cycle.percentiles_seconds == {50: 3 * DAY, 70: 4 * DAY, 85: 5 * DAY, 95: 5 * DAY}
    assert cycle.item_keys == ("S-1", "S-2", "S-3", "S-4", "S-5")
    lead = lead_time_summary(timelines, T0, at(10))
    assert lead.percentiles_seconds is not None and lead.percentiles_seconds[50] == 4 * DAY
    four = cycle_time_summary(timelines, T0, at(5, 1))  # S-5 finishes at day 6
    assert four.count == 4 and four.percentiles_seconds is None
    empty = cycle_time_summary(timelines, at(20), at(30))
    assert (empty.count, empty.mean_seconds, empty.percentiles_seconds) == (0, None, None)


def test_devlake_issue_lead_time_is_floored_to_minutes() -> None:
    board = Board()
    board.add("L", [(at(0, 0.5), "In Progress"), (T0 + timedelta(seconds=150.5), "Done")])
    board.add("O", [(at(1), "In Progress")])
    done, open_ = board.timelines()
    assert issue_lead_time_minutes(done) == 2
    assert issue_lead_time_minutes(open_) is None


def test_throughput_is_zero_filled_per_day_and_per_monday_week() -> None:  # METRICS 5.15
    board = Board()
    for key, finish in [("A", at(0, 1)), ("B", at(0, 3)), ("C", at(3)), ("D", at(8))]:
        board.add(key, [(T0, "In Progress"), (finish, "Done")], created=T0 - timedelta(days=1))
    timelines = board.timelines()
    daily = throughput(timelines, date(2026, 3, 1), date(2026, 3, 12), UTC)
    assert [p.count for p in daily] == [0, 2, 0, 0, 1, 0, 0, 0, 0, 1, 0]
    assert daily[1].start == date(2026, 3, 2) and daily[1].item_keys == ("A", "B")
    weekly = throughput(timelines, date(2026, 3, 1), date(2026, 3, 12), UTC, period="week")
    # Sunday 1 March belongs to the week of Monday 23 February; the last week is cut at the 11th.
    assert [(p.start, p.count) for p in weekly] == [
        (date(2026, 2, 23), 0),
        (date(2026, 3, 2), 3),
        (date(2026, 3, 9), 1),
    ]
    with pytest.raises(ValueError, match="period"):
        throughput(timelines, date(2026, 3, 1), date(2026, 3, 12), UTC, period="month")  # type: ignore[arg-type]


def test_throughput_days_are_the_teams_days() -> None:
    board = Board()
    late = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)  # Monday 00:30 in Berlin
    board.add("N", [(late - timedelta(hours=2), "In Progress"), (late, "Done")])
    utc = throughput(board.timelines(), date(2026, 3, 1), date(2026, 3, 3), UTC)
    berlin = throughput(board.timelines(), date(2026, 3, 1), date(2026, 3, 3), BERLIN)
    assert [p.count for p in utc] == [1, 0]
    assert [p.count for p in berlin] == [0, 1]


def wip_board() -> Board:
    board = Board()
    board.add("A", [(at(0, 1), "In Progress"), (at(2, 1), "Review"), (at(3, 1), "Done")])
    board.add("B", [(at(1, 1), "In Progress"), (at(2, 6), "Won't Do")])
    board.add("C", [(at(2), "In Progress")])
    board.add("D", [])
    return board


def test_wip_at_the_end_of_each_day_by_status() -> None:
    wip = wip_per_day(wip_board().timelines(), date(2026, 3, 2), date(2026, 3, 7), UTC)
    # 2nd: A. 3rd: A, B. 4th: A in Review, B cancelled that day, C started. 5th: A done. 6th: C.
    assert [(d.day.day, d.wip) for d in wip] == [(2, 1), (3, 2), (4, 2), (5, 1), (6, 1)]
    assert wip[2].by_status == {"Review": 1, "In Progress": 1}
    assert wip[2].item_keys == ("A", "C")
    assert wip[1].by_status == {"In Progress": 2}
    assert wip_per_day(wip_board().snapshot(), date(2026, 3, 2), date(2026, 3, 7), UTC) == wip


def test_flow_load_follows_the_history_that_wip_rewrites() -> None:
    board = Board()
    board.add("E", [(at(1), "In Progress"), (at(3), "Backlog")])  # 3 March -> back on 5 March
    board.add("F", [(at(2), "Ready")], type="Bug")
    timelines = board.timelines()
    days = (date(2026, 3, 2), date(2026, 3, 7))
    assert [d.wip for d in wip_per_day(timelines, *days, UTC)] == [0, 0, 1, 1, 1]
    load = flow_load(timelines, *days, UTC)
    assert load.load == [0, 1, 2, 1, 1]
    assert load.item_keys[2] == ("E", "F")
    assert load.by_type == {"feature": [0, 1, 1, 0, 0], "defect": [0, 0, 1, 1, 1]}
    assert load.mean == 1.0 and load.last == 1


def test_aging_counts_days_since_start_in_the_team_zone() -> None:
    board = Board()
    board.add("OLD", [(at(0, 1), "In Progress")])
    late = datetime(2026, 3, 9, 23, 30, tzinfo=UTC)  # 10 March 00:30 in Berlin
    board.add("NEW", [(late, "In Progress")], flags=[(late, True)])
    board.add("DONE", [(at(0, 1), "In Progress"), (at(1), "Done")])
    now = datetime(2026, 3, 10, 12, tzinfo=UTC)
    points = aging_wip(board.timelines(), now, BERLIN)
    assert [p.key for p in points] == ["OLD", "NEW"]
    old, new = points
    assert old.age_seconds == 8 * DAY + 2 * 3600 and old.age_days == 9 and old.age_days_jam == 8
    assert new.age_days == 1 and new.blocked and not old.blocked
    assert aging_wip(board.timelines(), now, UTC)[1].age_days == 2


def test_flow_efficiency_is_a_ratio_of_sums_with_flags_as_waiting() -> None:
    board = Board()
    # X: active days 1-3 and 4-5, waiting 3-4, flagged half a day while active: 2.5 of 4 days.
    board.add(
        "X",
        [(at(1), "In Progress"), (at(3), "Ready"), (at(4), "In Progress"), (at(5), "Done")],
        flags=[(at(1, 12), True), (at(2), False)],
    )
    board.add("Y", [(at(2), "In Progress"), (at(3), "Done")])  # 1 of 1 day
    board.add("Z", [(at(2), "Done")])  # jumped to done: zero flow time, left out
    result = flow_efficiency(board.timelines(), T0, at(10))
    assert [(e.key, e.active_seconds / DAY, e.flow_seconds / DAY) for e in result.items] == [
        ("Y", 1, 1),  # by finish
        ("X", 2.5, 4),
    ]
    assert result.ratio == pytest.approx(3.5 / 5)
    assert result.median == pytest.approx((2.5 / 4 + 1) / 2)
    assert result.waiting_seconds == 1.5 * DAY
    assert result.item_keys == ("Y", "X") and not result.no_waiting_time
    only_y = flow_efficiency(board.timelines(), at(2), at(3, 1))
    assert only_y.ratio == 1 and only_y.no_waiting_time
    none = flow_efficiency(board.timelines(), at(20), at(30))
    assert (none.ratio, none.median, none.items) == (None, None, [])


def test_a_flag_never_cleared_is_waiting_until_the_finish() -> None:
    board = Board()
    board.add("W", [(at(1), "In Progress"), (at(4), "Done")], flags=[(at(2), True)])
    (item,) = flow_efficiency(board.timelines(), T0, at(10)).items
    assert item.efficiency == pytest.approx(1 / 3)


def test_flow_types_follow_the_defaults() -> None:
    def issue(type: str, labels: tuple[str, ...] = (), key: str = "K", parent: str | None = None):  # type: ignore[no-untyped-def]
        board = Board()
        board.add(key, [], type=type, labels=labels, parent=parent)
        return board.items[0]

    assert flow_type(issue("Bug", ("tech-debt",))) is FlowType.DEFECT
    assert flow_type(issue("Story", ("Security",))) is FlowType.RISK
    assert flow_type(issue("Vulnerability")) is FlowType.RISK
    assert flow_type(issue("Task", ("refactor",))) is FlowType.DEBT
    assert flow_type(issue("Chore")) is FlowType.DEBT
    assert flow_type(issue("Improvement")) is FlowType.FEATURE
    assert flow_type(issue("Task")) is FlowType.FEATURE
    assert flow_type(issue("Spike")) is None
    bug = issue("Bug", key="P-1")
    child = issue("Sub-task", key="P-2", parent="P-1")
    orphan = issue("Sub-task", key="P-3", parent="P-404")
    assert flow_type(child, bug) is FlowType.DEFECT
    assert flow_types([bug, child, orphan]) == {
        bug.id: FlowType.DEFECT,
        child.id: FlowType.DEFECT,
        orphan.id: None,
    }


def test_flow_distribution_of_finished_and_in_progress_work() -> None:  # METRICS 5.16
    board = Board()
    done = [(at(1), "In Progress"), (at(2), "Done")]
    board.add("F", done)
    board.add("D", done, type="Bug")
    board.add("R", done, labels=("security",))
    board.add("T", done, type="Task", labels=("tech-debt",))
    board.add("S", done, type="Spike")
    board.add("EPIC", done, type="Epic")  # a parent: never counted with its children
    board.add("SUB", done, type="Sub-task", parent="F")
    board.add("W", [(at(1), "In Progress")], type="Bug")
    timelines = board.timelines()
    assert {t.item.key for t in timelines} == {"F", "D", "R", "T", "S", "W"}
    assert [p.count for p in throughput(timelines, date(2026, 3, 4), date(2026, 3, 5), UTC)] == [5]
    mix = flow_distribution(timelines, T0, at(5))
    assert mix.completed == dict.fromkeys(FlowType, 0.25)
    assert mix.completed_keys[FlowType.DEBT] == ("T",)
    assert mix.in_progress == {
        FlowType.FEATURE: 0.0,
        FlowType.DEFECT: 1.0,
        FlowType.RISK: 0.0,
        FlowType.DEBT: 0.0,
    }
    assert mix.unclassified_keys == ("S",)
    empty = flow_distribution(timelines, at(-9), at(-8))
    assert set(empty.completed.values()) == {None} and set(empty.in_progress.values()) == {None}


def blocked_board() -> Board:
    board = Board()
    # P: a flag set and cleared in the backlog does not count; a flag set on day 2 and never
    # cleared runs to the finish on day 4.
    board.add(
        "P",
        [(at(1), "In Progress"), (at(4), "Done")],
        flags=[(at(0, 1), True), (at(0, 5), False), (at(2), True)],
    )
    # Q: blocked stage on days 2-3, flagged 2.5-3.5: union 2 -> 3.5.
    board.add(
        "Q",
        [(at(1), "In Progress"), (at(2), "Blocked"), (at(3), "In Progress")],
        flags=[(at(2, 12), True), (at(3, 12), False)],
    )
    # R: flagged in the backlog, never cleared, started on day 1 and still going.
    board.add("R", [(at(1), "In Progress")], flags=[(at(0, 1), True)])
    board.add("S", [(at(1), "In Progress")], blocked_by=("P", "OTHER-9"))
    return board


def test_blocked_time_from_flags_and_blocked_stages() -> None:  # METRICS 5.7
    now = at(6)
    summary = blocked_time(blocked_board().timelines(), T0, at(5), now, UTC)
    by_key = {b.key: b for b in summary.items}
    assert [b.key for b in summary.items] == ["R", "P", "Q", "S"]
    p, q, r, s = by_key["P"], by_key["Q"], by_key["R"], by_key["S"]
    assert (p.flagged_seconds, p.blocked_seconds, p.blocked_days_jam) == (2 * DAY, 2 * DAY, 2)
    assert (q.flagged_seconds, q.blocked_stage_seconds) == (DAY, DAY)
    assert q.blocked_seconds == 1.5 * DAY and q.blocked_days_jam == 1
    # R's flag counts from its start in seconds, but JAM ignores flags set before the start.
    assert (r.blocked_seconds, r.blocked_days_jam) == (5 * DAY, 0)
    # S is linked as blocked by P (done: resolved) and by an item we do not know (open).
    assert (s.blocked_seconds, s.blocked_by) == (0.0, ("OTHER-9",))
    assert summary.finished_blocked_seconds == 2 * DAY
    assert summary.blocked_share == pytest.approx(2 / 3)  # P: 2 blocked of 3 days
    assert summary.item_keys == ("R", "P", "Q", "S")


def test_net_flow_compares_starts_and_finishes_per_week() -> None:
    board = Board()
    board.add("A", [(at(0), "In Progress"), (at(3), "Done")])
    board.add("B", [(at(1), "In Progress"), (at(8), "Done")])
    board.add("C", [(at(7), "In Progress")])
    weeks = net_flow(board.timelines(), date(2026, 3, 2), date(2026, 3, 16), UTC)
    assert [(w.start, w.started, w.finished, w.net) for w in weeks] == [
        (date(2026, 3, 2), 2, 1, 1),
        (date(2026, 3, 9), 1, 1, 0),
    ]
    assert weeks[0].started_keys == ("A", "B") and weeks[1].finished_keys == ("B",)


def test_service_level_expectation_and_its_compliance() -> None:
    board = Board()
    for key, days in [("A", 1), ("B", 2), ("C", 3), ("D", 4), ("E", 5), ("F", 10)]:
        board.add(key, [(at(1), "In Progress"), (at(1 + days - 1, 2), "Done")])
    timelines = board.timelines()
    now = at(30)
    sle = service_level_expectation(timelines, now, UTC)
    assert sle is not None
    # AA days 1, 2, 3, 4, 5, 10: p85 is the ceil(0.85 * 6) = 6th value.
    assert (sle.days, sle.probability, sle.basis_count, sle.fixed) == (10, 0.85, 6, False)
    compliance = sle_compliance(timelines, 4, T0, now, UTC)
    assert compliance.rate == pytest.approx(4 / 6)
    assert compliance.beyond_keys == ("E", "F")
    assert service_level_expectation(timelines, now, UTC, history_days=5) is None
    fixed = service_level_expectation(timelines, now, UTC, fixed_days=7)
    assert fixed is not None and (fixed.days, fixed.fixed) == (7, True)
    assert sle_compliance(timelines, 4, at(90), at(91), UTC).rate is None


def test_a_snapshots_timelines_are_built_once_and_shared() -> None:
    board = Board()
    board.add("A-1", [(at(1), "In Progress"), (at(2), "Done")])
    board.add("E-1", [(at(1), "In Progress")], type="Epic")
    snapshot = board.snapshot()

    first = item_timelines(snapshot)

    assert item_timelines(snapshot) is first  # a snapshot is immutable: its timelines too
    assert [t.item.key for t in first] == ["A-1"]
    assert item_timelines(snapshot, exclude_types=()) is not first  # other options, other list
    again = board.snapshot()  # equal content, another snapshot
    assert item_timelines(again) is not first
    assert [t.finished_at for t in item_timelines(again)] == [t.finished_at for t in first]


def test_metrics_of_a_plain_list_of_timelines_match_those_of_the_snapshot() -> None:
    board = Board()
    board.add("A-1", [(at(0), "Ready"), (at(1), "In Progress"), (at(3), "Done")])
    board.add("A-2", [(at(1), "In Progress"), (at(2), "Won't Do")])
    board.add("A-3", [(at(2), "In Progress"), (at(4), "Review")], created=at(-1))
    board.add("A-4", [(at(1), "In Progress"), (at(2), "Backlog")])
    snapshot = board.snapshot()
    shared, plain = item_timelines(snapshot), list(item_timelines(snapshot))
    days = (date(2026, 3, 1), date(2026, 3, 8))

    assert wip_per_day(plain, *days, UTC) == wip_per_day(shared, *days, UTC)
    assert flow_load(plain, *days, UTC) == flow_load(shared, *days, UTC)
    assert net_flow(plain, *days, UTC, "day") == net_flow(shared, *days, UTC, "day")
    assert cycle_time_summary(plain, at(0), at(9)) == cycle_time_summary(shared, at(0), at(9))
    # A-1 is in progress from 2 to 4 March, A-2 on 3 March, A-3 from 4 March; A-4 went back
    assert [d.wip for d in wip_per_day(shared, *days, UTC)] == [0, 1, 2, 2, 1, 1, 1]
