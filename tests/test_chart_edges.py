"""Charts on small, odd and telling data: tiny teams, unmapped workflows, a throughput burst.

Vendor text that matplotlib would read as mathtext (``$x^$``) is drawn as it is written.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from matplotlib.cbook import is_math_text

from bot.charts import CHART_KINDS, ITEM_CHARTS, render_chart
from bot.charts.style import plain
from bot.config import TeamConfig, load_config
from insights.model import ItemKind, Snapshot, Stage, Transition, WorkItem
from tests.conftest import DEMO_CONFIG, NOW


@pytest.fixture(scope="module")
def team() -> TeamConfig:
    return load_config(DEMO_CONFIG, env={}).teams[0]


def issue(
    team: TeamConfig, n: int, created: datetime, steps: list[tuple[str, datetime]]
) -> tuple[WorkItem, list[Transition]]:
    """An issue created in the backlog that moved through ``steps`` (status, instant)."""
    item_id = f"test:issue:T-{n}"
    stage = team.workflow.get
    moves, previous = [], "Backlog"
    for status, at in steps:
        to_stage = stage(status, Stage.WAITING)
        moves.append(Transition(item_id, at, previous, status, stage(previous), to_stage))
        previous = status
    final = stage(previous, Stage.WAITING)
    item = WorkItem(
        id=item_id,
        team=team.name,
        source="test",
        key=f"T-{n}",
        kind=ItemKind.ISSUE,
        type="Story",
        title=f"Item {n}",
        status=previous,
        stage=final,
        created_at=created,
        updated_at=steps[-1][1] if steps else created,
        resolved_at=steps[-1][1] if final is Stage.DONE else None,
    )
    return item, moves


def snapshot(team: TeamConfig, issues: list[tuple[WorkItem, list[Transition]]]) -> Snapshot:
    return Snapshot(
        team=team.name,
        items=[item for item, _ in issues],
        transitions={item.id: moves for item, moves in issues},
        flags={},
        reviews={},
        statuses=tuple(team.workflow),
    )


def done_item(team: TeamConfig, n: int, finished: datetime, days: float = 3):
    started = finished - timedelta(days=days)
    return issue(
        team, n, started - timedelta(days=1), [("In Progress", started), ("Done", finished)]
    )


def test_two_finished_items_draw_points_without_percentile_lines(team) -> None:
    finished = [NOW - timedelta(days=5), NOW - timedelta(hours=1)]
    tiny = snapshot(team, [done_item(team, n, at) for n, at in enumerate(finished)])

    image = render_chart("scatter", tiny, team, NOW)

    assert "2 items finished" in image.alt_text
    assert "within" not in image.alt_text
    assert "not enough data" not in image.alt_text


def test_aging_without_history_has_no_bands_but_names_the_oldest(team) -> None:
    started = NOW - timedelta(days=6)
    tiny = snapshot(team, [issue(team, 7, started, [("In Progress", started)])])

    image = render_chart("aging", tiny, team, NOW)

    assert "1 item." in image.alt_text
    assert "No cycle-time percentiles yet" in image.alt_text
    assert "Oldest: T-7 (7 days in In Progress)" in image.alt_text


def test_aging_gives_a_status_missing_from_the_workflow_its_own_column(team) -> None:
    started = NOW - timedelta(days=3)
    odd = snapshot(team, [issue(team, 8, started, [("Waiting for Vendor", started)])])

    image = render_chart("aging", odd, team, NOW)

    assert "T-8 (4 days in Waiting for Vendor)" in image.alt_text


def test_a_backlog_that_never_moved_has_no_flow_to_draw(team) -> None:
    idle = snapshot(team, [issue(team, n, NOW - timedelta(days=n), []) for n in range(1, 6)])

    image = render_chart("cfd", idle, team, NOW)

    assert "not enough data yet" in image.alt_text
    assert "No item was started" in image.alt_text


def test_a_workflow_without_a_done_status_is_explained(team) -> None:
    unmapped = team.model_copy(update={"workflow": {"Backlog": Stage.BACKLOG}})
    started = NOW - timedelta(days=3)
    data = snapshot(unmapped, [issue(unmapped, 1, started, [("In Progress", started)])])

    image = render_chart("cfd", data, unmapped, NOW)

    assert "not enough data yet" in image.alt_text
    assert "teams[].workflow" in image.alt_text


def test_a_burst_week_is_named_as_outside_the_limits(team) -> None:
    monday = datetime(2026, 11, 23, 10, tzinfo=UTC)  # the week of NOW (not complete)
    items, n = [], 0
    for week in range(1, 13):
        for k in range(14 if week == 2 else 2):
            n += 1
            items.append(done_item(team, n, monday - timedelta(weeks=week) + timedelta(hours=k)))

    image = render_chart("throughput", snapshot(team, items), team, NOW)

    burst = (monday - timedelta(weeks=2)).date()
    assert f"outside the limits: {burst.day} Nov (above)" in image.alt_text


def test_a_long_alt_text_is_cut_to_slacks_limit(team) -> None:
    items = [done_item(team, n, NOW - timedelta(days=n % 28 + 1), n % 3) for n in range(1, 200)]
    image = render_chart("throughput", snapshot(team, items), team, NOW, window_days=28)

    assert len(image.alt_text) <= 1000


DOLLARS = ("Wait $x^$ here", "$\\frac$", "$_$", "Costs $5 or $", "$$", "a \\$ b $ c")


@pytest.mark.parametrize("text", DOLLARS)
def test_plain_text_is_never_read_as_mathtext(text) -> None:
    assert not is_math_text(plain(text))


@pytest.mark.parametrize("kind", [k for k in CHART_KINDS if k not in ITEM_CHARTS])
def test_statuses_and_keys_with_dollar_signs_are_drawn_as_text(team, kind) -> None:
    statuses = {status: Stage.ACTIVE for status in DOLLARS[:3]}
    odd_team = team.model_copy(update={"workflow": {**team.workflow, **statuses}})
    started, items = NOW - timedelta(days=20), []
    for n, status in enumerate(DOLLARS, start=1):
        item, moves = issue(odd_team, n, started, [(status, started + timedelta(hours=n))])
        items.append((replace(item, key=f"${n}_$"), moves))
    items += [done_item(odd_team, 100 + n, NOW - timedelta(days=n)) for n in range(1, 8)]

    image = render_chart(kind, snapshot(odd_team, items), odd_team, NOW)

    assert image.png.startswith(b"\x89PNG")
    if kind == "aging":
        assert "$1_$" in image.alt_text and "in $_$)" in image.alt_text
