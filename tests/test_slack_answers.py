"""The answers layer: snapshots and charts cached until the data changes, computed once."""

from __future__ import annotations

import threading
from datetime import timedelta

from bot.charts import ChartImage
from bot.config import load_config
from bot.slack.answering.answers import Answers
from bot.sync import sync_teams
from storage.health import record_health
from tests.conftest import DEMO_CONFIG, NOW

TEAM = load_config(DEMO_CONFIG, env={}).teams[0]


class CountingRenderer:
    """Stands in for the chart processes; counts what it is asked to draw."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.gate = threading.Event()

    def render(self, team, version, kind, now, options) -> ChartImage:
        self.gate.wait(5)
        self.calls.append((kind, version, options.get("window_days")))
        return ChartImage(kind, b"png", "alt", "title", f"{kind}.png")


def test_concurrent_requests_for_one_chart_draw_it_once(demo_runtime) -> None:
    sync_teams(demo_runtime)
    renderer = CountingRenderer()
    answers = Answers(demo_runtime.engine, renderer)
    results: list[ChartImage] = []
    threads = [
        threading.Thread(target=lambda: results.append(answers.chart(TEAM, "cfd", NOW)))
        for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    renderer.gate.set()
    for thread in threads:
        thread.join()

    assert len(results) == 6 and len(renderer.calls) == 1
    answers.chart(TEAM, "cfd", NOW, window_days=30)
    assert len(renderer.calls) == 2, "other arguments are another chart"


def test_a_sync_makes_charts_and_snapshots_fresh(demo_runtime) -> None:
    sync_teams(demo_runtime)
    renderer = CountingRenderer()
    renderer.gate.set()
    answers = Answers(demo_runtime.engine, renderer)
    first = answers.snapshot(TEAM)
    answers.chart(TEAM, "aging", NOW)

    record_health(
        demo_runtime.engine,
        source_key="payments/demo",
        team="payments",
        source="demo",
        now=NOW + timedelta(minutes=15),
        error=None,
        records=0,
        skipped=0,
        unmapped=set(),
    )
    answers.chart(TEAM, "aging", NOW)

    assert answers.snapshot(TEAM) is not first
    assert len(renderer.calls) == 2
    assert renderer.calls[0][1] != renderer.calls[1][1]
