"""Chart worker processes: warm from the start, one snapshot per team kept, the server's charts."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from bot.charts import render_chart
from bot.config import load_config
from bot.slack.answering import chart_processes
from bot.slack.answering.answers import Answers
from bot.slack.answering.chart_processes import ChartProcesses, draw
from bot.sync import sync_teams
from storage.snapshots import load_snapshot
from tests.conftest import DEMO_CONFIG, NOW

TEAM = load_config(DEMO_CONFIG, env={}).teams[0]


@pytest.fixture
def worker_state(monkeypatch) -> Iterator[None]:
    """The test process plays a worker: empty caches of its own, the collector unfrozen after."""
    monkeypatch.setattr(chart_processes, "_caches", {})
    try:
        yield
    finally:
        gc.unfreeze()


def test_a_worker_keeps_a_teams_snapshot_until_its_data_version_changes(
    demo_runtime, worker_state
) -> None:
    sync_teams(demo_runtime)
    url = demo_runtime.engine.url.render_as_string(hide_password=False)
    version = Answers(demo_runtime.engine).data_version(TEAM)

    first = chart_processes._snapshot(url, TEAM, version)
    assert gc.get_freeze_count() > 0  # the loaded snapshot is out of the collector's sight
    assert chart_processes._snapshot(url, TEAM, version) is first
    cache = chart_processes._caches[url]
    assert cache.loads == 1

    synced_again = (*version[:-1], f"{version[-1]}-later")
    second = chart_processes._snapshot(url, TEAM, synced_again)
    assert second is not first
    assert cache.loads == 2
    assert [i.id for i in second.items] == [i.id for i in first.items]
    assert chart_processes._snapshot(url, TEAM, synced_again) is second
    assert cache.loads == 2


def test_a_worker_draws_the_chart_the_server_would(demo_runtime, worker_state) -> None:
    sync_teams(demo_runtime)
    url = demo_runtime.engine.url.render_as_string(hide_password=False)
    version = Answers(demo_runtime.engine).data_version(TEAM)
    snapshot = load_snapshot(demo_runtime.engine, TEAM.name, list(TEAM.workflow))

    drawn = draw(url, TEAM, version, "throughput", NOW, {"window_days": 30})

    assert drawn == render_chart("throughput", snapshot, TEAM, NOW, window_days=30)


def test_spawned_workers_warm_up_and_draw_the_same_png(demo_runtime) -> None:
    sync_teams(demo_runtime)
    version = Answers(demo_runtime.engine).data_version(TEAM)
    snapshot = load_snapshot(demo_runtime.engine, TEAM.name, list(TEAM.workflow))
    processes = ChartProcesses(demo_runtime.engine, workers=1)
    try:
        drawn = processes.render(TEAM, version, "cfd", NOW, {"window_days": 45})
    finally:
        processes.shutdown()

    expected = render_chart("cfd", snapshot, TEAM, NOW, window_days=45)
    assert drawn.png == expected.png
    assert drawn.alt_text == expected.alt_text
